"""Finding 5 of issue 11: live standings with one ballot cast showed that voter's choices.

Live standings, and every breakdown of them, are withheld until LIVE_STANDINGS_MIN_BALLOTS
ballots are in (`Tally.objects.public` / `Tally.standings_disclosed`); the number of
ballots may still be told. Final published results are not held back.
"""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import Client
from django.urls import reverse

from portal.stats import campaign_turnout
from tests.builders import approve_verification
from tests.votes.counting_fixtures import campaign, cast
from votes import services
from votes.models import Campaign, Tally
from votes.results import public_tally, results_dict

pytestmark = pytest.mark.django_db

# Every public path that could carry a per-entry figure of a campaign's tally.
DOWNLOADS = ("results_csv", "results_xlsx", "results_json")


@pytest.fixture
def client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def _live(town, django_capture_on_commit_callbacks) -> Campaign:
    obj = campaign(costs={"a": 10, "b": 20}, closed=False, show_live_standings=True, municipality=town)
    cast(obj, "v1", {"b": 1})
    _recount(obj, django_capture_on_commit_callbacks)
    return obj


def _recount(obj: Campaign, django_capture_on_commit_callbacks) -> None:
    # On commit: the cached results page is dropped, as after the beat's recount.
    with django_capture_on_commit_callbacks(execute=True):
        services.tally_compute(campaign_id=obj.pk, final=False)


def _admin_tally_page(user, obj: Campaign) -> str:
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(user)
    tally = Tally.objects.get(campaign=obj, kind="live")
    response = staff.get(reverse("admin:votes_tally_change", args=[tally.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_one_ballot_in_shows_nothing_per_entry_on_any_path(
    client, settings, town, superuser, django_capture_on_commit_callbacks
) -> None:
    settings.LIVE_STANDINGS_MIN_BALLOTS = 50
    obj = _live(town, django_capture_on_commit_callbacks)
    live = Tally.objects.get(campaign=obj, kind="live")
    assert live.ballots_counted == 1
    assert live.rows.filter(entry__external_id="b", votes=1).exists()  # counted, only not shown

    # The results page says how many ballots are in and why the standings wait.
    html = client.get(reverse("votes:campaign_results", args=[obj.pk])).content.decode()
    assert "<h1>Live standings</h1>" in html
    assert 'data-code="standings_withheld"' in html
    assert "at least 50 ballots" in html
    assert "Ballots so far" in html
    assert "Project a" not in html
    assert "Project b" not in html
    assert '<svg role="img"' not in html
    assert "<table" not in html

    for name in DOWNLOADS:
        assert client.get(reverse(f"votes:{name}", args=[obj.pk])).status_code == 404, name
    assert client.get(f"/api/v1/campaigns/{obj.pk}/results/").status_code == 404
    assert public_tally(obj) is None
    # Any caller that reaches the live tally some other way gets no entry from it.
    assert results_dict(obj, live)["entries"] == []
    assert results_dict(obj, live, list(live.rows.all()))["entries"] == []

    # The turnout (a count of ballots, nothing of any choice) stays public.
    row = next(row for row in campaign_turnout() if row["pk"] == obj.pk)
    assert row["ballots"] == 1
    assert "Courtyards 2026" in client.get(reverse("stats")).content.decode()

    # Nobody counts by hand (Celery does): the admin shows no live row either, not even to
    # a superuser (officials never see tally rows there).
    page = _admin_tally_page(superuser, obj)
    assert "withheld until 50 ballots are in" in page
    assert "Project b" not in page


def test_standings_appear_on_every_path_once_enough_ballots_are_in(
    client, settings, town, superuser, django_capture_on_commit_callbacks
) -> None:
    settings.LIVE_STANDINGS_MIN_BALLOTS = 3
    obj = _live(town, django_capture_on_commit_callbacks)
    cast(obj, "v2", {"a": 1})
    _recount(obj, django_capture_on_commit_callbacks)
    assert "Project b" not in client.get(reverse("votes:campaign_results", args=[obj.pk])).content.decode()

    cast(obj, "v3", {"b": 1})
    _recount(obj, django_capture_on_commit_callbacks)
    html = client.get(reverse("votes:campaign_results", args=[obj.pk])).content.decode()
    assert "<h1>Live standings</h1>" in html
    assert "Project b" in html
    assert 'data-code="standings_withheld"' not in html
    for name in DOWNLOADS:
        assert client.get(reverse(f"votes:{name}", args=[obj.pk])).status_code == 200, name
    body = client.get(f"/api/v1/campaigns/{obj.pk}/results/").json()
    assert body["ballots"] == 3
    assert {e["external_id"]: e["votes"] for e in body["entries"]} == {"a": 1, "b": 2}
    page = _admin_tally_page(superuser, obj)
    assert "Project b" in page
    assert "withheld until" not in page


def test_a_live_campaign_that_hides_its_standings_tells_nothing_either(client, settings, town) -> None:
    settings.LIVE_STANDINGS_MIN_BALLOTS = 1
    obj = campaign(costs={"a": 10}, closed=False, municipality=town)
    cast(obj, "v1", {"a": 1})
    services.tally_compute(campaign_id=obj.pk, final=False)
    html = client.get(reverse("votes:campaign_results", args=[obj.pk])).content.decode()
    assert "The results are not yet published." in html
    assert "Ballots so far" not in html
    assert client.get(f"/api/v1/campaigns/{obj.pk}/results/").status_code == 404


def test_published_final_results_of_one_ballot_are_shown(client, settings, town) -> None:
    settings.LIVE_STANDINGS_MIN_BALLOTS = 50
    obj = campaign(costs={"a": 10, "b": 20}, municipality=town)
    cast(obj, "v1", {"b": 1})
    services.tally_compute(campaign_id=obj.pk, final=True)
    services.ledger_seal(campaign_id=obj.pk)
    approve_verification(obj)
    services.results_publish(campaign=obj)
    body = client.get(f"/api/v1/campaigns/{obj.pk}/results/").json()
    assert body["final"] is True
    assert {e["external_id"]: e["votes"] for e in body["entries"]} == {"a": 0, "b": 1}
    assert "Project b" in client.get(reverse("votes:campaign_results", args=[obj.pk])).content.decode()


def test_a_threshold_below_one_is_refused_by_the_system_check(settings) -> None:
    settings.LIVE_STANDINGS_MIN_BALLOTS = 0
    assert "portal.E002" in {message.id for message in run_checks()}
    settings.LIVE_STANDINGS_MIN_BALLOTS = 1
    assert "portal.E002" not in {message.id for message in run_checks()}
