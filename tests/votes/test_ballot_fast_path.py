"""The API ballot's cheap paths (issue 18): the plain body read without the serializer,
the receipt written without one, and the open campaign kept for two seconds per process.
Each must answer exactly as the slow path would."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from votes import ballot_campaign
from votes.api import BallotReceiptSerializer, BallotRequestSerializer, _choices, _plain_choices
from votes.ballot_campaign import campaign_to_cast
from votes.models import Ballot, Campaign, Participation
from votes.services import BIGINT_MAX, MAX_POINTS, campaign_close

pytestmark = pytest.mark.django_db

BODIES = [
    {"choices": [{"entry": 1}]},
    {"choices": [{"entry": 1, "points": None}]},
    {"choices": [{"entry": 1, "points": 3}, {"entry": 2, "points": 1}]},
    {"choices": [{"entry": BIGINT_MAX, "points": MAX_POINTS}]},
    {"choices": [{"entry": n} for n in range(1, 501)]},
    # What the serializer reads otherwise, or refuses: the fast path must stand aside.
    {"choices": [{"entry": n} for n in range(1, 502)]},
    {"choices": []},
    {"choices": "all"},
    {"choices": None},
    {"choices": {"entry": 1}},
    {},
    [],
    None,
    "choices",
    {"choices": [{"entry": 1}], "comment": "x"},
    {"choices": [{"entry": 1, "note": "x"}]},
    {"choices": [{"entry": "1"}]},
    {"choices": [{"entry": 1.0}]},
    {"choices": [{"entry": 1.5}]},
    {"choices": [{"entry": True}]},
    {"choices": [{"entry": 0}]},
    {"choices": [{"entry": -1}]},
    {"choices": [{"entry": BIGINT_MAX + 1}]},
    {"choices": [{"entry": None}]},
    {"choices": [{"points": 1}]},
    {"choices": [{"entry": 1, "points": 0}]},
    {"choices": [{"entry": 1, "points": MAX_POINTS + 1}]},
    {"choices": [{"entry": 1, "points": "2"}]},
    {"choices": [{"entry": 1, "points": False}]},
    {"choices": [{"entry": 1, "points": 2.0}]},
    {"choices": [1, 2]},
    {"choices": [[1, 2]]},
]


@pytest.mark.parametrize("body", BODIES, ids=[repr(b)[:60] for b in BODIES])
def test_the_plain_read_of_a_body_agrees_with_the_serializer(body):
    plain = _plain_choices(body)
    serializer = BallotRequestSerializer(data=body)
    if plain is not None:
        assert serializer.is_valid(), serializer.errors
        assert plain == _choices(serializer.validated_data["choices"])


def test_the_plain_read_takes_the_bodies_clients_send():
    # Without this, a fast path that never fires would pass the test above.
    for body in BODIES[:5]:
        assert _plain_choices(body) is not None, body


def test_the_receipt_is_written_as_the_serializer_writes_it(token_client, make_campaign, voter, ids):
    campaign = make_campaign()
    response = token_client(voter).post(
        f"/api/v1/campaigns/{campaign.pk}/ballots/", {"choices": [{"entry": ids(campaign)[0]}]}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    voted_at = Participation.objects.get(voter=voter).voted_at
    expected = BallotReceiptSerializer(
        {"receipt": body["receipt"], "receipt_hash": Ballot.objects.get().receipt_hash, "cast_at": voted_at}
    ).data
    assert body == dict(expected)


# --- The open campaign kept per process ---------------------------------------------------


def reads_of_campaign(queries) -> int:
    return sum('FROM "votes_campaign"' in q["sql"] for q in queries.captured_queries)


def test_an_open_campaign_is_read_once_for_many_ballots(make_campaign):
    campaign = make_campaign()
    with CaptureQueriesContext(connection) as queries:
        first = campaign_to_cast(campaign.pk)
        again = campaign_to_cast(campaign.pk)
    assert first is again
    assert first.municipality.region.name  # what eligibility reads came with it
    assert reads_of_campaign(queries) == 1


@pytest.mark.parametrize("phase", ["upcoming", "ideas", "closed"])
def test_a_campaign_that_is_not_open_is_read_every_time(make_campaign, phase):
    campaign = make_campaign(phase=phase)
    with CaptureQueriesContext(connection) as queries:
        campaign_to_cast(campaign.pk)
        campaign_to_cast(campaign.pk)
    assert reads_of_campaign(queries) == 2


def test_the_kept_campaign_is_read_again_after_its_seconds(make_campaign, monkeypatch, settings):
    settings.BALLOT_CAMPAIGN_CACHE_SECONDS = 2.0
    campaign = make_campaign()
    clock = [1000.0]
    monkeypatch.setattr(ballot_campaign.time, "monotonic", lambda: clock[0])
    first = campaign_to_cast(campaign.pk)
    clock[0] += 1.9
    assert campaign_to_cast(campaign.pk) is first
    clock[0] += 0.2
    assert campaign_to_cast(campaign.pk) is not first


def test_nothing_is_kept_when_the_setting_is_zero(make_campaign, settings):
    settings.BALLOT_CAMPAIGN_CACHE_SECONDS = 0
    campaign = make_campaign()
    with CaptureQueriesContext(connection) as queries:
        campaign_to_cast(campaign.pk)
        campaign_to_cast(campaign.pk)
    assert reads_of_campaign(queries) == 2


def test_a_close_moved_later_is_seen_as_soon_as_the_kept_one_says_closed(make_campaign, monkeypatch):
    campaign = make_campaign()
    kept = campaign_to_cast(campaign.pk)
    later = kept.voting_closes_at + datetime.timedelta(hours=2)
    Campaign.objects.filter(pk=campaign.pk).update(voting_closes_at=later)
    past_the_old_close = kept.voting_closes_at + datetime.timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: past_the_old_close)
    assert not kept.is_open()
    fresh = campaign_to_cast(campaign.pk)
    assert fresh is not kept
    assert fresh.voting_closes_at == later
    assert fresh.is_open()


@pytest.mark.postgres
def test_a_ballot_after_the_close_is_refused_by_the_database_even_through_a_kept_campaign(
    token_client, make_campaign, voter, make_user, ids
):
    campaign = make_campaign()
    entry = ids(campaign)[0]
    url = f"/api/v1/campaigns/{campaign.pk}/ballots/"
    assert token_client(make_user()).post(url, {"choices": [{"entry": entry}]}, format="json").status_code == 201
    campaign_close(campaign=Campaign.objects.get(pk=campaign.pk))
    assert campaign_to_cast(campaign.pk).is_open()  # the kept copy has not seen the close
    with CaptureQueriesContext(connection) as queries:
        response = token_client(voter).post(url, {"choices": [{"entry": entry}]}, format="json")
    assert reads_of_campaign(queries) == 0
    assert response.status_code == 403
    assert response.json()["code"] == "campaign_closed"
    assert Participation.objects.filter(voter=voter).count() == 0
    assert Ballot.objects.filter(campaign=campaign).count() == 1


@pytest.mark.postgres
def test_a_second_api_ballot_in_an_open_campaign_takes_two_statements(token_client, make_campaign, make_user, ids):
    campaign = make_campaign()
    entry = ids(campaign)[0]
    url = f"/api/v1/campaigns/{campaign.pk}/ballots/"
    assert token_client(make_user()).post(url, {"choices": [{"entry": entry}]}, format="json").status_code == 201
    client = token_client(make_user())
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, {"choices": [{"entry": entry}]}, format="json")
    assert response.status_code == 201
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    # The token with its user and the one INSERT; the campaign was kept.
    assert len(statements) == 2, [sql[:80] for sql in statements]


# --- The web ballot's confirm step --------------------------------------------------------


def web_review(user, campaign, entry):
    client = Client()
    client.force_login(user)
    review = client.post(f"/campaigns/{campaign.pk}/ballot/", {"step": "review", "entries": [entry]})
    token = re.search(r'name="token" value="([^"]+)"', review.content.decode()).group(1)
    return client, token


def web_confirm(client, campaign, token):
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/campaigns/{campaign.pk}/ballot/", {"step": "confirm", "token": token})
    return response, queries


def test_the_web_confirm_step_reads_neither_the_ballot_page_nor_the_register(make_campaign, voter, ids):
    campaign = make_campaign()
    response, queries = web_confirm(*_reviewed(voter, campaign, ids))
    assert response.status_code == 302
    assert Participation.objects.filter(voter=voter, campaign=campaign).count() == 1
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert not [sql for sql in reads if 'FROM "votes_participation"' in sql], reads  # no "already voted?"
    # The page's entries are not read; on PostgreSQL not even the chosen ones (their key checks them).
    entry_reads = 0 if connection.vendor == "postgresql" else 1
    assert len([sql for sql in reads if 'FROM "votes_entry"' in sql]) == entry_reads, reads


def _reviewed(voter, campaign, ids):
    client, token = web_review(voter, campaign, ids(campaign)[0])
    return client, campaign, token


def test_a_refused_web_confirm_still_says_already_voted_first(make_campaign, voter, ids):
    # A second confirm (a double click, the back button) is refused by the register's
    # constraint in the cheap step; the page then says what it always said, with the
    # participation's details, and nothing more is written.
    campaign = make_campaign()
    client, _campaign, token = _reviewed(voter, campaign, ids)
    assert web_confirm(client, campaign, token)[0].status_code == 302
    again, _queries = web_confirm(client, campaign, token)
    assert again.status_code == 409
    assert again.context["code"] == "already_voted"
    assert again.context["participation"].campaign_id == campaign.pk
    assert Participation.objects.filter(voter=voter).count() == 1
    assert Ballot.objects.filter(campaign=campaign).count() == 1


@pytest.mark.parametrize("method", ["approval", "choose-1", "cumulative", "ordinal", "knapsack"])
def test_an_entry_of_another_campaign_is_refused_and_nothing_is_written(
    token_client, make_campaign, voter, ids, method
):
    # On PostgreSQL the INSERT's foreign key answers it (no look-up first) except for a
    # basket, whose costs are read first; the answer is the same either way.
    campaign, other = make_campaign(method=method), make_campaign(method=method)
    points = {"cumulative": 1, "ordinal": 1}.get(method)
    body = {"choices": [{"entry": ids(other)[0], **({"points": points} if points else {})}]}
    response = token_client(voter).post(f"/api/v1/campaigns/{campaign.pk}/ballots/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_entry"
    assert Participation.objects.filter(voter=voter).count() == 0
    assert Ballot.objects.count() == 0
