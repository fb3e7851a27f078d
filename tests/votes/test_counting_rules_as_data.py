"""Rules as data through the database: exclusivity groups on entries, the campaign's
tie-break (the lottery redone by verify_ledger from its published seed), the reserve
marked apart, thresholds on every greedy rule, and irregular imports shown to officials."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from portal.accounts.models import User
from tests.builders import approve_verification
from tests.votes.counting_fixtures import PABULIB_SAMPLES, campaign, cast, municipality
from votes import rules, services
from votes.models import Campaign, Entry, Tally

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def _publish(obj: Campaign) -> Tally:
    services.tally_compute(campaign_id=obj.pk, final=True)
    services.ledger_seal(campaign_id=obj.pk)
    approve_verification(obj)
    services.results_publish(campaign=obj)
    obj.refresh_from_db()
    return Tally.objects.get(campaign=obj, kind="final")


def _selected(tally: Tally) -> dict[str, str]:
    return {
        r.entry.external_id: ("reserve" if r.selected_by_reserve else "yes" if r.selected else "no")
        for r in tally.rows.select_related("entry")
    }


def _verify(client: Client, obj: Campaign, tmp_path, edit=None) -> tuple[int, str]:
    response = client.get(reverse("votes:ledger_download", args=[obj.pk]))
    lines = b"".join(response.streaming_content).decode().splitlines()  # type: ignore[attr-defined]
    if edit is not None:
        header = json.loads(lines[0])
        edit(header)
        lines[0] = json.dumps(header)
    path = tmp_path / "ledger.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = io.StringIO()
    try:
        call_command("verify_ledger", str(path), stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def _tied() -> Campaign:
    # Eight projects of one cost with one vote each: every place is a tie.
    obj = campaign(costs={str(i): 10 for i in range(1, 9)}, budget=30, max_choices=8)
    cast(obj, "v1", {str(i): 1 for i in range(1, 9)})
    return obj


def test_lottery_seed_is_public_before_the_count_and_verify_ledger_redoes_the_draw(client, tmp_path) -> None:
    obj = _tied()
    Campaign.objects.filter(pk=obj.pk).update(tie_break=rules.TIE_LOTTERY, tie_break_seed="seed-published-2026")
    obj.refresh_from_db()
    page = client.get(reverse("votes:campaign_detail", args=[obj.pk])).content.decode()
    assert "public lottery" in page
    assert "seed-published-2026" in page
    tally = _publish(obj)
    projects = [rules.Project(str(i), 10) for i in range(1, 9)]
    scores = rules.tally_scores(rules.APPROVAL, {tuple((str(i), 1) for i in range(1, 9)): 1})
    expected = rules.select(
        rules.GREEDY, projects, scores, budget=30, tie_break=rules.TIE_LOTTERY, tie_seed="seed-published-2026"
    )
    assert {pid for pid, s in _selected(tally).items() if s == "yes"} == set(expected.selected)
    assert set(expected.selected) != {"1", "2", "3"}  # not the lower-id order: the seed decided
    results = client.get(reverse("votes:campaign_results", args=[obj.pk])).content.decode()
    assert "public lottery" in results
    assert "seed-published-2026" in results
    code, out = _verify(client, obj, tmp_path)
    assert code == 0, out
    # Another seed in the header draws other winners: verify_ledger says so.
    code, out = _verify(client, obj, tmp_path, edit=lambda h: h.update(tie_break_seed="another-seed"))
    assert code == 1
    assert "recount selects" in out


def test_a_lottery_without_a_seed_is_refused_by_the_database() -> None:
    obj = _tied()
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        Campaign.objects.filter(pk=obj.pk).update(tie_break=rules.TIE_LOTTERY, tie_break_seed="")
    assert "campaign_lottery_has_seed" in str(refused.value)


def test_each_campaign_gets_its_own_seed() -> None:
    first = campaign(costs={"a": 1}, municipality=municipality("Revda"))
    second = campaign(costs={"a": 1}, municipality=municipality("Asbest"))
    assert len(first.tie_break_seed) == 32
    assert first.tie_break_seed != second.tie_break_seed


def test_cheaper_tie_break_is_named_and_applied(client) -> None:
    obj = campaign(costs={"a": 60, "b": 40, "c": 50}, budget=100)
    for voter in ("v1", "v2"):
        cast(obj, voter, {"a": 1, "b": 1, "c": 1})
    Campaign.objects.filter(pk=obj.pk).update(tie_break=rules.TIE_CHEAPER)
    tally = _publish(obj)
    # All tie at 2 votes: cheaper first takes b (40) and c (50); a (60) no longer fits.
    assert _selected(tally) == {"a": "no", "b": "yes", "c": "yes"}
    assert [r.entry.external_id for r in tally.rows.select_related("entry").order_by("rank")] == ["b", "c", "a"]
    page = client.get(reverse("votes:campaign_results", args=[obj.pk])).content.decode()
    assert "the cheaper one goes first" in page


def test_reserve_winner_is_marked_apart_everywhere(client, tmp_path) -> None:
    obj = campaign(costs={"a": 50, "b": 30, "c": 24, "d": 5}, budget=100, method="choose-1")
    Campaign.objects.filter(pk=obj.pk).update(rule=rules.GREEDY_RESERVE, reserve_share=Decimal("0.8"))
    for i, (pid, n) in enumerate([("a", 4), ("b", 3), ("c", 2), ("d", 1)]):
        for j in range(n):
            cast(obj, f"v{i}-{j}", {pid: 1})
    tally = _publish(obj)
    assert _selected(tally) == {"a": "yes", "b": "yes", "c": "reserve", "d": "no"}
    assert tally.budget_used == 100
    page = client.get(reverse("votes:campaign_results", args=[obj.pk])).content.decode()
    assert "selected from the reserve" in page
    assert "covers at least 80 % of its cost, 24" in page
    assert "the reserve pays the remaining 4" in page
    assert "including 1 from the reserve" in page
    rows = list(csv.DictReader(io.StringIO(client.get(reverse("votes:results_csv", args=[obj.pk])).content.decode())))
    assert {r["external_id"]: r["selected_by_reserve"] for r in rows} == {"a": "0", "b": "0", "c": "1", "d": "0"}
    pb = client.get(reverse("votes:results_pb", args=[obj.pk])).content.decode()
    assert "\nc;24;Project c;2;2;2\n" in pb
    assert "reserve_share;0.8" in pb
    code, out = _verify(client, obj, tmp_path)
    assert code == 0, out
    code, out = _verify(client, obj, tmp_path, edit=lambda h: h.update(reserve_share="0.9"))
    assert code == 1
    assert "from the reserve" in out


def test_exclusive_entries_select_one_and_explain_the_other(client, tmp_path) -> None:
    obj = campaign(costs={"north": 40, "south": 30, "park": 20}, budget=100)
    Entry.objects.filter(campaign=obj, external_id__in=["north", "south"]).update(exclusivity_group="courtyard-7")
    cast(obj, "v1", {"north": 1, "south": 1, "park": 1})
    cast(obj, "v2", {"north": 1, "south": 1})
    cast(obj, "v3", {"north": 1})
    tally = _publish(obj)
    assert _selected(tally) == {"north": "yes", "south": "no", "park": "yes"}
    page = client.get(reverse("votes:campaign_results", args=[obj.pk])).content.decode()
    assert "it excludes project north, which was selected first" in page
    code, out = _verify(client, obj, tmp_path)
    assert code == 0, out


def test_greedy_no_skip_applies_the_campaigns_threshold(client) -> None:
    obj = campaign(costs={"a": 10, "b": 10, "c": 10}, budget=100, rule=rules.GREEDY_NO_SKIP, score_threshold=2)
    cast(obj, "v1", {"a": 1, "b": 1})
    cast(obj, "v2", {"a": 1, "c": 1})
    tally = _publish(obj)
    assert _selected(tally) == {"a": "yes", "b": "no", "c": "no"}
    page = client.get(reverse("votes:campaign_results", args=[obj.pk])).content.decode()
    assert "needs a score of at least 2" in page
    assert "below the minimum of 2" in page


@pytest.fixture
def admin_client() -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(User.objects.create_superuser("root@example.org", "pw"))
    return client


def _import(name: str, *extra: str) -> Campaign:
    out = io.StringIO()
    call_command("import_pabulib", str(PABULIB_SAMPLES / "more" / name), *extra, stdout=out, stderr=io.StringIO())
    return Campaign.objects.get(pk=int(out.getvalue().split()[-1]))


def test_officials_see_what_was_irregular_and_a_chosen_rule_flagged(admin_client) -> None:
    repeated = _import("Poland_Warszawa_2026_Blonia_Wilanowskie.pb")
    assert repeated.import_irregularities == [
        {
            "code": "repeated_project",
            "message": "the vote names 1481 more than once: counted once",
            "line": 268,
            "params": {"projects": "1481", "vote_type": "approval"},
        }
    ]
    page = admin_client.get(reverse("admin:votes_campaign_change", args=[repeated.pk])).content.decode()
    assert "line 268: the vote names project 1481 more than once: it is counted once." in page
    russian = admin_client.get(
        reverse("admin:votes_campaign_change", args=[repeated.pk]), HTTP_ACCEPT_LANGUAGE="ru"
    ).content.decode()
    assert "строка 268: в бюллетене проект 1481 указан больше одного раза: он засчитан один раз." in russian
    poznan = _import("Poland_Poznan_2024_9_-_Stare_Miasto__small.pb")
    assert (poznan.rule, poznan.imported_rule, poznan.reserve_share) == (
        "greedy-reserve",
        "greedy-custom",
        Decimal("0.8"),
    )
    page = admin_client.get(reverse("admin:votes_campaign_change", args=[poznan.pk])).content.decode()
    assert "Flagged: the file names the rule &#x27;greedy-custom&#x27;" in page
    assert "read as greedy with a reserve for the next project when the budget left covers 80 % of its cost" in page
    listing = admin_client.get(reverse("admin:votes_campaign_changelist")).content.decode()
    assert "rule greedy-reserve chosen (file: greedy-custom)" in listing
    assert "1 irregularity" in listing


def test_the_official_chooses_the_rule_of_an_unknown_file() -> None:
    with pytest.raises(CommandError, match=r"refused: line 12: the file's rule is 'unknown'"):
        _import("Hungary_Budapest_2025_XI_Ujbuda.pb")
    assert not Campaign.objects.exists()
    chosen = _import("Hungary_Budapest_2025_XI_Ujbuda.pb", "--rule", "greedy-no-skip")
    assert (chosen.rule, chosen.imported_rule) == ("greedy-no-skip", "unknown")
    assert chosen.import_irregularities[0]["code"] == "rule_chosen"


def test_exclusive_projects_given_as_an_option_become_entry_groups() -> None:
    obj = _import("Poland_Warszawa_2024_Wilanow.pb", "--exclusive", "228,231")
    groups = dict(obj.entries.exclude(exclusivity_group="").values_list("external_id", "exclusivity_group"))
    assert groups == {"228": "excl-228", "231": "excl-228"}
    tally = services.tally_compute(campaign_id=obj.pk, final=True)
    chosen = {r.entry.external_id for r in tally.rows.select_related("entry") if r.selected}
    assert len(chosen & {"228", "231"}) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "META\nkey;value\nbudget;5\nPROJECTS\nproject_id;cost\n1;2\nVOTES\nvoter_id;vote\nv;1,7\n",
            "line 9: vote names",
        ),
        (
            "META\nkey;value\nbudget;5\nrule;greedy\nPROJECTS\nproject_id;cost\n1;0\nVOTES\nvoter_id;vote\nv;1\n",
            "line 7: ",
        ),
        ("META\nkey;value\nbudget;5.555\nPROJECTS\nproject_id;cost\n1;2\nVOTES\nvoter_id;vote\nv;1\n", "two decimal"),
    ],
)
def test_a_file_that_cannot_be_counted_is_refused_with_where_and_writes_nothing(tmp_path, text, message) -> None:
    path = tmp_path / "bad.pb"
    path.write_text(text)
    with pytest.raises(CommandError, match=message):
        call_command("import_pabulib", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert not Campaign.objects.exists()
    assert not Entry.objects.exists()
