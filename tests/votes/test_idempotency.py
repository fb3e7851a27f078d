"""Retries of the volunteers' app: a ballot POST with an Idempotency-Key is answered,
for a day, with its first answer.

The app on a bad mobile connection resends a ballot whose 201 it never received; before,
the retry answered 409 "already voted" and the app showed an error for a stored ballot.
"""

from __future__ import annotations

import datetime
import re
import uuid

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.idempotency.models import IdempotentRequest
from votes.models import Ballot, Participation

pytestmark = pytest.mark.django_db


def ballot_url(campaign) -> str:
    return f"/api/v1/campaigns/{campaign.pk}/ballots/"


def post(client, campaign, entry: int, key: str | None, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(ballot_url(campaign), {"choices": [{"entry": entry}]}, format="json", **headers, **extra)


@pytest.fixture
def key() -> str:
    return str(uuid.uuid4())


def test_a_retry_with_the_same_key_gets_the_first_answer(token_client, make_campaign, voter, ids, key):
    campaign = make_campaign()
    client = token_client(voter)

    first = post(client, campaign, ids(campaign)[0], key)
    retry = post(client, campaign, ids(campaign)[0], key)

    assert first.status_code == 201
    assert retry.status_code == 201, retry.json()
    assert retry.json() == first.json()  # the same receipt: the app shows it as if nothing happened
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Participation.objects.filter(voter=voter).count() == 1
    # Without the key, the same retry is what it always was.
    assert post(client, campaign, ids(campaign)[0], None).json()["code"] == "already_voted"


def test_the_same_key_with_another_body_is_a_422(token_client, make_campaign, voter, ids, key):
    campaign = make_campaign()
    client = token_client(voter)
    assert post(client, campaign, ids(campaign)[0], key).status_code == 201

    other = post(client, campaign, ids(campaign)[1], key)
    elsewhere = post(client, make_campaign(), ids(campaign)[0], key)

    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert elsewhere.status_code == 422
    assert elsewhere.json()["code"] == "idempotency_key_reused"
    assert Ballot.objects.count() == 1


def test_an_error_is_the_first_answer_too(token_client, make_campaign, voter, ids, key):
    campaign = make_campaign(phase="upcoming")
    client = token_client(voter)
    first = post(client, campaign, ids(campaign)[0], key)
    assert first.status_code == 403
    assert post(client, campaign, ids(campaign)[0], key).json() == first.json()


@pytest.mark.parametrize("bad", ["short", "x" * 256, "ключ-идемпотентности-1", "two words here 123"])
def test_a_malformed_key_is_refused_and_nothing_is_written(token_client, make_campaign, voter, ids, bad):
    campaign = make_campaign()
    response = post(token_client(voter), campaign, ids(campaign)[0], bad)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not Ballot.objects.exists()
    assert not IdempotentRequest.objects.exists()


def test_keys_belong_to_one_account(token_client, make_campaign, make_user, ids, key):
    campaign = make_campaign()
    first = post(token_client(make_user()), campaign, ids(campaign)[0], key)
    second = post(token_client(make_user()), campaign, ids(campaign)[0], key)
    assert first.status_code == second.status_code == 201
    assert first.json()["receipt"] != second.json()["receipt"]
    assert Ballot.objects.count() == 2


def test_the_stored_answer_tells_nobody_how_anyone_voted(token_client, make_campaign, voter, ids, key):
    campaign = make_campaign()
    receipt = post(token_client(voter), campaign, ids(campaign)[0], key).json()
    stored = IdempotentRequest.objects.get()
    row = repr(IdempotentRequest.objects.values().get()).encode()

    assert stored.user_id == voter.pk
    assert stored.status == 201
    for secret in (receipt["receipt"], receipt["receipt_hash"], key):
        assert secret.encode() not in row
        assert secret.encode() not in bytes(stored.answer)


def test_the_answer_is_written_in_the_ballots_transaction(token_client, make_campaign, voter, ids, key, monkeypatch):
    """A ballot stored without its answer would make the retry a 409 again: neither or both."""
    from portal.idempotency import services as idempotency

    campaign = make_campaign()

    def fail(*args, **kwargs):
        raise RuntimeError("the answer could not be stored")

    monkeypatch.setattr(idempotency, "_answer_store", fail)
    with pytest.raises(RuntimeError, match="the answer could not be stored"):
        post(token_client(voter), campaign, ids(campaign)[0], key)
    assert not Ballot.objects.exists()
    assert not IdempotentRequest.objects.exists()


def test_answers_are_kept_for_a_day(token_client, make_campaign, voter, ids, key):
    from portal.idempotency.services import idempotent_requests_expire
    from portal.idempotency.tasks import idempotent_requests_cleanup

    campaign = make_campaign()
    client = token_client(voter)
    assert post(client, campaign, ids(campaign)[0], key).status_code == 201
    IdempotentRequest.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))

    # An expired key is a new request: the ballot is there, so "already voted".
    late = post(client, campaign, ids(campaign)[0], key)
    assert late.status_code == 409
    assert late.json()["code"] == "already_voted"
    assert IdempotentRequest.objects.get().status == 409

    IdempotentRequest.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    post(token_client(voter), make_campaign(), ids(campaign)[0], str(uuid.uuid4()))
    assert idempotent_requests_expire() == 1
    assert IdempotentRequest.objects.count() == 1
    assert idempotent_requests_cleanup.apply().get() == 0  # the Celery task beat runs


@override_settings(THROTTLE=False)
def test_the_volunteers_endpoint_honours_the_key(token_client, make_campaign, volunteer, ids, key, sms_outbox):
    campaign = make_campaign()
    client = token_client(volunteer)
    # The resident proves the phone with the code they receive and read to the volunteer.
    assert client.post("/api/v1/volunteer/codes/", {"phone": "8 912 555-12-34"}, format="json").status_code == 202
    code = re.search(r"\b(\d{6})\b", sms_outbox[-1].text).group(1)
    body = {
        "campaign": campaign.pk,
        "phone": "8 912 555-12-34",
        "full_name": "Сидорова Ольга",
        "birth_date": "1970-03-08",
        "municipality": campaign.municipality.slug,
        "document_type": "passport",
        "document_number": "6512 345678",
        "code": code,
        "choices": [{"entry": ids(campaign)[0]}],
    }
    first = client.post("/api/v1/volunteer/ballots/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    retry = client.post("/api/v1/volunteer/ballots/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert Ballot.objects.count() == 1


def test_the_path_without_a_key_makes_no_extra_query(token_client, make_campaign, voter, ids):
    campaign = make_campaign()
    client = token_client(voter)
    entry = ids(campaign)[0]
    with CaptureQueriesContext(connection) as queries:
        assert post(client, campaign, entry, None).status_code == 201
    statements = [query["sql"] for query in queries.captured_queries]
    assert not any("idempoten" in sql for sql in statements)
    if connection.vendor == "postgresql":
        # Token, campaign, the one INSERT, which checks the entries by their foreign key
        # (and the test transaction's savepoint pair).
        assert len(statements) == 5, statements


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_retries_at_the_same_moment_get_one_ballot_and_the_same_answer(make_campaign, voter, ids, key):
    from rest_framework.test import APIClient

    from portal.accounts.services import api_token_issue
    from tests.concurrency import race

    campaign = make_campaign()
    token = api_token_issue(user=voter)

    def send():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return post(client, campaign, ids(campaign)[0], key)

    outcome = race(send, send)

    assert outcome.second_waited
    assert outcome.first.status_code == outcome.second.status_code == 201, (outcome.first, outcome.second)
    assert outcome.second.json() == outcome.first.json()
    assert Ballot.objects.count() == 1
