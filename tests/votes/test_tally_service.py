"""The tally service: recompute from ballots, atomic rows and status, idempotent; the clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.builders import approve_verification
from tests.votes.counting_fixtures import campaign, cast
from votes import services, tasks
from votes.models import Campaign, Tally, TallyRow

pytestmark = pytest.mark.django_db


def _rows(tally: Tally) -> list[tuple]:
    return [
        (r.entry.external_id, r.votes, r.score, r.rank, r.selected, r.explanation)
        for r in tally.rows.select_related("entry").order_by("rank")
    ]


def _greedy_campaign() -> Campaign:
    obj = campaign(costs={"a": 60, "b": 50, "c": 30, "d": 20}, budget=100)
    cast(obj, "v1", {"a": 1, "b": 1})
    cast(obj, "v2", {"a": 1, "c": 1})
    cast(obj, "v3", {"a": 1, "b": 1, "d": 1})
    cast(obj, "v4", {"b": 1})
    return obj


def test_greedy_final_tally_stores_standings_and_explanations() -> None:
    obj = _greedy_campaign()
    tally = services.tally_compute(campaign_id=obj.pk, final=True)
    assert tally.status == "done"
    assert tally.computed_at is not None
    assert tally.ballots_counted == 4
    # a (3 votes, 60) fits; b (3 votes, 50) does not fit 40 left; c (1, 30) fits; d (1, 20) does not.
    rows = _rows(tally)
    assert [(r[0], r[1], r[4]) for r in rows] == [
        ("a", 3, True),
        ("b", 3, False),
        ("c", 1, True),
        ("d", 1, False),
    ]
    assert tally.budget_used == 90
    assert tally.ledger_head == ""  # counting only: the seal is its own task
    assert len(services.ledger_seal(campaign_id=obj.pk)) == 64
    why_b = rows[1][5]
    assert why_b["reason"] == "budget_exhausted"
    assert why_b["budget_left"] == 40
    assert why_b["cost"] == 50


def test_final_tally_twice_stores_identical_rows() -> None:
    obj = _greedy_campaign()
    first = _rows(services.tally_compute(campaign_id=obj.pk, final=True))
    head = services.ledger_seal(campaign_id=obj.pk)
    second = _rows(services.tally_compute(campaign_id=obj.pk, final=True))
    assert first == second
    assert Tally.objects.filter(campaign=obj, kind="final").count() == 1
    # A recount unseals (its ballots are hashed again); the same ballots give the same head.
    assert Tally.objects.get(campaign=obj, kind="final").ledger_head == ""
    assert services.ledger_seal(campaign_id=obj.pk) == head
    assert Tally.objects.get(campaign=obj, kind="final").ledger_head == head


def test_failure_half_way_marks_failed_and_a_rerun_equals_a_clean_run(monkeypatch) -> None:
    obj = _greedy_campaign()
    clean = _rows(services.tally_compute(campaign_id=obj.pk, final=True))
    # New ballots change the result, then the worker "dies" after writing half the rows.
    cast(obj, "v5", {"d": 1, "c": 1})
    cast(obj, "v6", {"d": 1, "c": 1})
    original = TallyRow.objects.bulk_create

    def half_then_crash(rows, *args, **kwargs):
        original(rows[: len(rows) // 2], *args, **kwargs)
        raise RuntimeError("worker lost")

    monkeypatch.setattr(TallyRow.objects, "bulk_create", half_then_crash)
    with pytest.raises(RuntimeError, match="worker lost"):
        services.tally_compute(campaign_id=obj.pk, final=True)
    failed = Tally.objects.get(campaign=obj, kind="final")
    assert failed.status == "failed"
    assert "worker lost" in failed.error
    # Rows and status are written together: the half-written rows were rolled back.
    assert _rows(failed) == clean
    monkeypatch.undo()
    rerun = _rows(services.tally_compute(campaign_id=obj.pk, final=True))
    # A clean run on the same ballots from scratch gives the same rows.
    Tally.objects.filter(campaign=obj).delete()
    fresh = _rows(services.tally_compute(campaign_id=obj.pk, final=True))
    assert rerun == fresh
    assert rerun != clean
    assert Tally.objects.get(campaign=obj, kind="final").error == ""


def test_final_tally_of_an_open_campaign_is_refused() -> None:
    obj = campaign(costs={"a": 10}, closed=False)
    with pytest.raises(services.TallyError, match="not closed"):
        services.tally_compute(campaign_id=obj.pk, final=True)
    assert not Tally.objects.filter(campaign=obj, kind="final").exists()


def test_live_tally_of_an_open_campaign() -> None:
    obj = campaign(costs={"a": 10, "b": 10}, closed=False)
    cast(obj, "v1", {"b": 1})
    tally = services.tally_compute(campaign_id=obj.pk, final=False)
    assert tally.kind == "live"
    assert tally.ledger_head == ""
    assert [(r[0], r[1], r[4]) for r in _rows(tally)] == [("b", 1, True), ("a", 0, True)]


def test_equal_shares_streams_grouped_ballots_including_empty_ones() -> None:
    # 4 voters, budget 100: 25 each. x (cost 60) has 3 supporters (75), y (cost 40) one.
    obj = campaign(costs={"x": 60, "y": 40, "z": 30}, rule="equalshares", budget=100)
    cast(obj, "v1", {"x": 1})
    cast(obj, "v2", {"x": 1})
    cast(obj, "v3", {"x": 1, "z": 1})
    cast(obj, "v4", {"y": 1})
    tally = services.tally_compute(campaign_id=obj.pk, final=True)
    selected = {r[0] for r in _rows(tally) if r[4]}
    assert selected == {"x"}
    # An empty ballot lowers every share (budget / 5 voters = 20): x (3 × 20 = 60) still fits.
    cast(obj, "v5", {})
    tally = services.tally_compute(campaign_id=obj.pk, final=True)
    assert tally.ballots_counted == 5
    assert {r[0] for r in _rows(tally) if r[4]} == {"x"}
    by_id = {r[0]: r for r in _rows(tally)}
    assert by_id["y"][5]["reason"] == "too_expensive_for_supporters"
    assert by_id["y"][5]["supporters_budget"] == 20


def test_ordinal_borda_scores_come_from_sql() -> None:
    obj = campaign(costs={"a": 10, "b": 10, "c": 10}, method="ordinal", max_choices=3, budget=10)
    cast(obj, "v1", {"a": 1, "b": 2, "c": 3})
    cast(obj, "v2", {"b": 1, "a": 2})
    tally = services.tally_compute(campaign_id=obj.pk, final=True)
    scores = {r[0]: r[2] for r in _rows(tally)}
    assert scores == {"a": 3 + 2, "b": 2 + 3, "c": 1}
    # Tie on score 5: the smaller id wins the only slot.
    assert [r[0] for r in _rows(tally) if r[4]] == ["a"]


def test_results_publish_needs_a_done_final_tally() -> None:
    obj = _greedy_campaign()
    approve_verification(obj)
    with pytest.raises(services.ResultsError) as refused:
        services.results_publish(campaign=obj)
    assert refused.value.code == "tally_not_done"
    obj.refresh_from_db()
    assert obj.results_published_at is None
    services.tally_compute(campaign_id=obj.pk, final=True)
    services.ledger_seal(campaign_id=obj.pk)
    approve_verification(obj)
    services.results_publish(campaign=obj)
    obj.refresh_from_db()
    assert obj.results_published_at is not None


def test_clock_opens_and_closes_on_time_and_twice_changes_nothing(monkeypatch, django_capture_on_commit_callbacks):
    enqueued = []
    monkeypatch.setattr(tasks.tally_final, "delay", lambda campaign_id: enqueued.append(campaign_id))
    now = timezone.now()
    upcoming = campaign(costs={"a": 10}, closed=False)
    Campaign.objects.filter(pk=upcoming.pk).update(
        voting_opens_at=now + timedelta(hours=1), voting_closes_at=now + timedelta(hours=2), opened_at=None
    )
    upcoming.refresh_from_db()
    # Before its time nothing happens.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.campaigns_clock_tick(now=now) == ([], [])
    # At its opening time it opens, once.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.campaigns_clock_tick(now=now + timedelta(hours=1, minutes=1)) == ([upcoming.pk], [])
    opened_at = Campaign.objects.get(pk=upcoming.pk).opened_at
    assert opened_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert services.campaigns_clock_tick(now=now + timedelta(hours=1, minutes=2)) == ([], [])
    assert Campaign.objects.get(pk=upcoming.pk).opened_at == opened_at
    assert enqueued == []
    # At its closing time it closes and the final tally is enqueued after the commit, once.
    later = now + timedelta(hours=2, minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.campaigns_clock_tick(now=later) == ([], [upcoming.pk])
    closed_at = Campaign.objects.get(pk=upcoming.pk).closed_at
    assert closed_at is not None
    assert enqueued == [upcoming.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.campaigns_clock_tick(now=later + timedelta(minutes=1)) == ([], [])
    assert Campaign.objects.get(pk=upcoming.pk).closed_at == closed_at
    assert enqueued == [upcoming.pk]


def test_live_refresh_enqueues_open_campaigns_only(monkeypatch, django_capture_on_commit_callbacks):
    enqueued = []
    monkeypatch.setattr(tasks.tally_live, "delay", lambda campaign_id: enqueued.append(campaign_id))
    open_one = campaign(costs={"a": 10}, closed=False)
    campaign(costs={"a": 10}, closed=True, municipality=open_one.municipality)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.live_tallies_refresh()
    assert enqueued == [open_one.pk]


def test_tasks_call_the_service() -> None:
    obj = _greedy_campaign()
    tally_id = tasks.tally_final(obj.pk)
    assert Tally.objects.get(pk=tally_id).status == "done"
    assert Tally.objects.get(pk=tasks.tally_live(obj.pk)).kind == "live"
