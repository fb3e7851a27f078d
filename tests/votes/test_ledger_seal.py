"""The ledger seal: its own step after the final tally, required before publication."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.builders import approve_verification
from tests.votes.counting_fixtures import campaign, cast
from votes import ledger, services, tasks
from votes.models import Campaign, Tally

pytestmark = pytest.mark.django_db


def _closed_with_ballots() -> Campaign:
    obj = campaign(costs={"a": 60, "b": 50, "c": 30, "d": 20}, budget=100)
    cast(obj, "v1", {"a": 1, "b": 1})
    cast(obj, "v2", {"a": 1, "c": 1})
    cast(obj, "v3", {"d": 1, "b": 1, "a": 1})
    cast(obj, "v4", {"b": 1})
    cast(obj, "v5", {})  # an empty ballot is in the ledger too
    return obj


@translation.override("en")  # the message is checked in English (the msgid)
def test_publish_is_refused_until_the_ledger_is_sealed() -> None:
    obj = _closed_with_ballots()
    services.tally_compute(campaign_id=obj.pk, final=True)
    approve_verification(obj)
    with pytest.raises(services.ResultsError, match="ledger is not sealed"):
        services.results_publish(campaign=obj)
    assert Campaign.objects.get(pk=obj.pk).results_published_at is None
    services.ledger_seal(campaign_id=obj.pk)
    approve_verification(obj)
    assert services.results_publish(campaign=obj).results_published_at is not None


def test_seal_without_a_finished_final_tally_is_refused() -> None:
    obj = _closed_with_ballots()
    with pytest.raises(services.TallyError, match="no finished final tally"):
        services.ledger_seal(campaign_id=obj.pk)


def test_seal_is_idempotent() -> None:
    obj = _closed_with_ballots()
    services.tally_compute(campaign_id=obj.pk, final=True)
    first = services.ledger_seal(campaign_id=obj.pk)
    final = Tally.objects.get(campaign=obj, kind="final")
    assert final.ledger_head == first
    assert len(first) == 64
    assert tasks.ledger_seal(obj.pk) == first  # the task (a redelivery) changes nothing
    again = Tally.objects.get(campaign=obj, kind="final")
    assert (again.ledger_head, again.computed_at, again.ballots_counted) == (
        first,
        final.computed_at,
        final.ballots_counted,
    )


def test_seal_refuses_ballots_added_after_the_count() -> None:
    obj = _closed_with_ballots()
    services.tally_compute(campaign_id=obj.pk, final=True)
    cast(obj, "v6", {"c": 1})
    with pytest.raises(services.TallyError, match="6 ballots in the ledger, 5 counted"):
        services.ledger_seal(campaign_id=obj.pk)
    assert Tally.objects.get(campaign=obj, kind="final").ledger_head == ""


def test_head_equals_the_chain_over_the_downloaded_ledger() -> None:
    obj = _closed_with_ballots()
    services.tally_compute(campaign_id=obj.pk, final=True)
    head = services.ledger_seal(campaign_id=obj.pk)
    approve_verification(obj)
    services.results_publish(campaign=obj)
    response = Client().get(reverse("votes:ledger_download", args=[obj.pk]))
    lines = b"".join(response.streaming_content).decode().splitlines()  # type: ignore[attr-defined]
    header = json.loads(lines[0])
    ballots = [(r["receipt_hash"], r["choices"]) for r in map(json.loads, lines[1:])]
    assert len(ballots) == 5
    assert ledger.head_of(obj.pk, ballots) == head == header["head"]
    assert ledger.verify(lines) == []


def test_final_tally_enqueues_the_seal_on_commit(django_capture_on_commit_callbacks, settings) -> None:
    from portal.celery import app

    obj = _closed_with_ballots()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.tally_compute(campaign_id=obj.pk, final=True)
    finally:
        app.conf.task_always_eager = eager
    assert len(Tally.objects.get(campaign=obj, kind="final").ledger_head) == 64


def test_tally_command_final_seals_and_prints_the_head(capsys) -> None:
    obj = _closed_with_ballots()
    call_command("tally", str(obj.pk), "--final")
    head = Tally.objects.get(campaign=obj, kind="final").ledger_head
    assert len(head) == 64
    assert f"ledger head {head}" in capsys.readouterr().out


def test_publication_selects_the_winners_and_the_results_then_stand() -> None:
    from projects.models import Proposal

    obj = _closed_with_ballots()
    services.tally_compute(campaign_id=obj.pk, final=True)
    services.ledger_seal(campaign_id=obj.pk)
    rows = {row.entry.proposal_id: row.selected for row in Tally.objects.get(campaign=obj, kind="final").rows.all()}
    assert any(rows.values())
    assert not all(rows.values())
    approve_verification(obj)
    services.results_publish(campaign=obj)
    statuses = dict(Proposal.objects.filter(pk__in=rows).values_list("pk", "status"))
    assert statuses == {pk: ("selected" if won else "approved") for pk, won in rows.items()}
    assert all(p.selected_at is not None for p in Proposal.objects.filter(pk__in=rows, status="selected"))
    stored = list(Tally.objects.get(campaign=obj, kind="final").rows.values_list("entry_id", "votes", "selected"))
    with pytest.raises(services.TallyError, match="published results"):
        services.tally_compute(campaign_id=obj.pk, final=True)
    final = Tally.objects.get(campaign=obj, kind="final")
    assert final.status == "done"
    assert final.ledger_head
    assert list(final.rows.values_list("entry_id", "votes", "selected")) == stored
