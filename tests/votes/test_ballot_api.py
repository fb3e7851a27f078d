"""The JSON API: token, campaigns, ballots, my ballots, volunteer ballots; status codes."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from portal.accounts.models import User
from votes.models import Ballot, BallotChoice, Participation
from votes.receipts import receipt_hash

pytestmark = pytest.mark.django_db


def ballot_url(campaign_id) -> str:
    return f"/api/v1/campaigns/{campaign_id}/ballots/"


def counts():
    return Ballot.objects.count(), BallotChoice.objects.count()


# --- Token -------------------------------------------------------------------------


def test_token_for_email_and_password(api_client, voter, password):
    response = api_client.post(
        "/api/v1/auth/token/", {"email": voter.email.upper(), "password": password}, format="json"
    )
    assert response.status_code == 200
    again = api_client.post("/api/v1/auth/token/", {"email": voter.email, "password": password}, format="json")
    assert response.json()["token"] == again.json()["token"]
    assert len(response.json()["token"]) == 40


@pytest.mark.parametrize("body", [{"email": "x@example.org", "password": "x"}, {"email": "", "password": ""}, {}])
def test_token_refused_with_bad_credentials(api_client, voter, body):
    if body.get("email") == "x@example.org":
        body = {"email": voter.email, "password": "wrong password"}
    response = api_client.post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"]


# --- Campaigns ---------------------------------------------------------------------


def test_campaign_list_filters_by_municipality_and_status(api_client, make_campaign, neighbour_town):
    open_here = make_campaign()
    upcoming_here = make_campaign(phase="upcoming")
    closed_here = make_campaign(phase="closed")
    open_there = make_campaign(municipality=neighbour_town)

    def ids(query):
        response = api_client.get("/api/v1/campaigns/" + query)
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    assert ids("") == {open_here.pk, upcoming_here.pk, closed_here.pk, open_there.pk}
    assert ids("?municipality=ekaterinburg") == {open_here.pk, upcoming_here.pk, closed_here.pk}
    assert ids("?municipality=ekaterinburg&status=open") == {open_here.pk}
    assert ids("?status=upcoming") == {upcoming_here.pk}
    assert ids("?status=closed") == {closed_here.pk}
    assert api_client.get("/api/v1/campaigns/?status=someday").json()["code"] == "invalid_status"
    # Found by schemathesis: a NUL byte reached PostgreSQL and answered 500.
    for query in ("?municipality=%00", "?municipality=ekb%C2%84%00x", "?municipality=not%20a%20slug"):
        response = api_client.get("/api/v1/campaigns/" + query)
        assert response.status_code == 400, query
        assert "municipality" in response.json()["errors"], query
    assert api_client.get("/api/v1/campaigns/?status=open%00").json()["code"] == "invalid_status"


def test_campaign_detail_lists_entries_with_limits(api_client, make_campaign):
    campaign = make_campaign(method="cumulative", points=7, max_choices=3)
    body = api_client.get(f"/api/v1/campaigns/{campaign.pk}/").json()
    assert (body["method"], body["points"], body["min_choices"], body["max_choices"]) == ("cumulative", 7, 1, 3)
    assert body["status"] == "open"
    assert [entry["id"] for entry in body["entries"]] == list(campaign.entries.values_list("pk", flat=True))
    assert {"id", "proposal", "title", "cost"} <= set(body["entries"][0])
    assert api_client.get("/api/v1/campaigns/999999/").status_code == 404


# --- Ballots -----------------------------------------------------------------------


def test_ballot_201_with_receipt(token_client, make_campaign, voter, ids):
    campaign = make_campaign(method="ordinal", max_choices=3)
    e = ids(campaign)
    body = {"choices": [{"entry": e[2], "points": 1}, {"entry": e[0], "points": 2}]}
    response = token_client(voter).post(ballot_url(campaign.pk), body, format="json")
    assert response.status_code == 201, response.json()
    answer = response.json()
    ballot = Ballot.objects.get(campaign=campaign)
    participation = Participation.objects.get(voter=voter)
    assert participation.channel == "api"
    assert receipt_hash(answer["receipt"]) == ballot.receipt_hash == answer["receipt_hash"]
    assert datetime.datetime.fromisoformat(answer["cast_at"]) == participation.voted_at
    assert dict(ballot.choices.values_list("entry_id", "points")) == {e[2]: 1, e[0]: 2}


def test_ballot_401_without_login(api_client, make_campaign, ids):
    campaign = make_campaign()
    response = api_client.post(ballot_url(campaign.pk), {"choices": [{"entry": ids(campaign)[0]}]}, format="json")
    assert response.status_code == 401
    assert counts() == (0, 0)


def test_ballot_404_no_such_campaign(token_client, voter):
    assert token_client(voter).post(ballot_url(999999), {"choices": []}, format="json").status_code == 404
    assert token_client(voter).post(ballot_url(2**70), {"choices": []}, format="json").status_code == 404


@pytest.mark.parametrize(
    ("who", "phase", "code"),
    [
        ("unverified", "voting", "not_verified"),
        ("child", "voting", "under_age"),
        ("elsewhere", "voting", "not_resident"),
        ("eligible", "upcoming", "campaign_not_yet_open"),
        ("eligible", "closed", "campaign_closed"),
    ],
)
def test_ballot_403_with_the_reason(token_client, make_campaign, make_user, neighbour_town, ids, who, phase, code):
    user = {
        "unverified": lambda: make_user(verified=False),
        "child": lambda: make_user(age=10),
        "elsewhere": lambda: make_user(municipality=neighbour_town),
        "eligible": lambda: make_user(),
    }[who]()
    campaign = make_campaign(phase=phase)
    if who == "unverified":
        # No API token for an unverified account: it reaches the API through its web session.
        client = APIClient()
        client.force_login(user)
    else:
        client = token_client(user)
    response = client.post(ballot_url(campaign.pk), {"choices": [{"entry": ids(campaign)[0]}]}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert counts() == (0, 0)


def test_ballot_409_second_time(token_client, make_campaign, voter, ids):
    campaign = make_campaign()
    client = token_client(voter)
    assert (
        client.post(ballot_url(campaign.pk), {"choices": [{"entry": ids(campaign)[0]}]}, format="json").status_code
        == 201
    )
    response = client.post(ballot_url(campaign.pk), {"choices": [{"entry": ids(campaign)[1]}]}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "already_voted"
    assert counts() == (1, 1)


@pytest.mark.postgres
def test_an_api_ballot_takes_three_statements(token_client, make_campaign, voter, ids):
    # Token with its user, the campaign, and one INSERT of the ballot with its
    # participation and choices that returns the trigger's time: no "already voted?"
    # pre-check (the register's constraint answers it), no look-up of the entries (their
    # foreign key answers it), no BEGIN/COMMIT, no re-read (bench/NOTES.md).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    campaign = make_campaign()
    client = token_client(voter)
    entry = ids(campaign)[0]
    with CaptureQueriesContext(connection) as queries:
        response = client.post(ballot_url(campaign.pk), {"choices": [{"entry": entry}]}, format="json")
    assert response.status_code == 201
    # The test's own transaction turns the INSERT's atomicity into a savepoint; a request
    # in autocommit (gunicorn) runs the statement alone.
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 3, [sql[:80] for sql in statements]
    ballot = Ballot.objects.get(campaign=campaign)
    # The answer carries the database clock's stamp, as stored in the register.
    voted_at = Participation.objects.get(voter=voter).voted_at
    assert datetime.datetime.fromisoformat(response.json()["cast_at"]) == voted_at
    assert [c.entry_id for c in ballot.choices.all()] == [entry]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"choices": []}, "malformed_request"),
        ({"choices": "all"}, "malformed_request"),
        ({}, "malformed_request"),
        ({"choices": [{"entry": "x"}]}, "malformed_request"),
        ({"choices": [{"entry": 1, "points": 0}]}, "malformed_request"),
        ({"choices": [{"points": 1}]}, "malformed_request"),
        ("dup", "duplicate_entry"),
        ("many", "too_many_choices"),
        ("other", "unknown_entry"),
    ],
)
def test_ballot_400_with_field_errors(token_client, make_campaign, voter, ids, body, code):
    campaign = make_campaign(method="approval", max_choices=2)
    other = make_campaign()
    e = ids(campaign)
    body = (
        {
            "dup": {"choices": [{"entry": e[0]}, {"entry": e[0]}]},
            "many": {"choices": [{"entry": x} for x in e[:3]]},
            "other": {"choices": [{"entry": ids(other)[0]}]},
        }.get(body, body)
        if isinstance(body, str)
        else body
    )
    response = token_client(voter).post(ballot_url(campaign.pk), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["errors"]
    assert counts() == (0, 0)


def test_ballot_400_on_a_body_that_is_not_json(token_client, make_campaign, voter):
    campaign = make_campaign()
    response = token_client(voter).post(ballot_url(campaign.pk), "{not json", content_type="application/json")
    assert response.status_code == 400
    assert counts() == (0, 0)


def throttled(rates: dict):
    merged = {**api_settings.DEFAULT_THROTTLE_RATES, **rates}
    from django.conf import settings

    return override_settings(
        THROTTLE=True, REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": merged}
    )


def test_ballot_429_per_account(token_client, make_campaign, voter, ids):
    campaign = make_campaign()
    with throttled({"ballot_user": "2/min"}):
        client = token_client(voter)
        statuses = [
            client.post(ballot_url(campaign.pk), {"choices": [{"entry": ids(campaign)[0]}]}, format="json").status_code
            for _ in range(3)
        ]
    assert statuses == [201, 409, 429]


def test_ballot_429_per_address_across_accounts(token_client, make_campaign, make_user, ids):
    campaign = make_campaign()
    with throttled({"ballot_ip": "2/min", "ballot_user": "100/min"}):
        statuses = [
            token_client(make_user())
            .post(ballot_url(campaign.pk), {"choices": [{"entry": ids(campaign)[0]}]}, format="json")
            .status_code
            for _ in range(3)
        ]
    assert statuses == [201, 201, 429]
    assert Ballot.objects.count() == 2


def test_token_429_per_account_and_per_address(api_client, voter, make_user, password):
    with throttled({"auth_user": "2/min", "auth_ip": "100/min"}):
        bad = {"email": voter.email, "password": "guess"}
        assert [api_client.post("/api/v1/auth/token/", bad, format="json").status_code for _ in range(3)] == [
            400,
            400,
            429,
        ]
        other = make_user()
        assert (
            api_client.post(
                "/api/v1/auth/token/", {"email": other.email, "password": password}, format="json"
            ).status_code
            == 200
        )
    with throttled({"auth_user": "100/min", "auth_ip": "1/min"}):
        from django.core.cache import cache

        cache.clear()
        assert api_client.post("/api/v1/auth/token/", bad, format="json").status_code == 400
        response = api_client.post("/api/v1/auth/token/", {"email": "a@b.c", "password": "x"}, format="json")
        assert response.status_code == 429
        assert "Retry-After" in response


def test_throttle_off_lets_load_tests_through(token_client, make_campaign, make_user, ids):
    campaign = make_campaign()
    with throttled({"ballot_ip": "1/min"}), override_settings(THROTTLE=False):
        statuses = {
            token_client(make_user())
            .post(ballot_url(campaign.pk), {"choices": [{"entry": ids(campaign)[0]}]}, format="json")
            .status_code
            for _ in range(4)
        }
    assert statuses == {201}


# --- My ballots --------------------------------------------------------------------


def test_my_ballots_lists_only_mine(token_client, make_campaign, voter, make_user, ids):
    first, second = make_campaign(), make_campaign(method="cumulative", points=5)
    client = token_client(voter)
    client.post(ballot_url(first.pk), {"choices": [{"entry": ids(first)[1]}]}, format="json")
    client.post(ballot_url(second.pk), {"choices": [{"entry": ids(second)[0], "points": 5}]}, format="json")
    token_client(make_user()).post(ballot_url(first.pk), {"choices": [{"entry": ids(first)[0]}]}, format="json")
    rows = client.get("/api/v1/ballots/mine/").json()["results"]
    assert {(row["campaign"], row["channel"]) for row in rows} == {(first.pk, "api"), (second.pk, "api")}
    # Where and when, never what: the box keeps no voter, so nothing here can say.
    assert all(set(row) == {"campaign", "channel", "cast_at"} for row in rows)
    assert all(row["cast_at"] for row in rows)


def test_my_ballots_401_without_login(api_client):
    assert api_client.get("/api/v1/ballots/mine/").status_code == 401


# --- Volunteer ---------------------------------------------------------------------


def volunteer_body(campaign, entry_id, **over):
    return {
        "campaign": campaign.pk,
        "phone": "8 (912) 345-67-89",
        "full_name": "Иванова Мария Петровна",
        "birth_date": "1960-05-17",
        "municipality": "ekaterinburg",
        "document_type": "passport",
        "document_number": "65 04 123456",
        "choices": [{"entry": entry_id}],
        **over,
    }


def with_code(client, body, outbox):
    """The desk's first step: a code to the resident's phone, read back to the volunteer."""
    sent = client.post("/api/v1/volunteer/codes/", {"phone": body["phone"]}, format="json")
    assert sent.status_code == 202, sent.content
    return {**body, "code": re.search(r"\b(\d{6})\b", outbox[-1].text).group(1)}


def test_volunteer_casts_for_a_new_resident(token_client, make_campaign, volunteer, ids, sms_outbox):
    campaign = make_campaign()
    client = token_client(volunteer)
    without_code = client.post("/api/v1/volunteer/ballots/", volunteer_body(campaign, ids(campaign)[0]), format="json")
    assert without_code.json()["code"] == "code_required"
    body = with_code(client, volunteer_body(campaign, ids(campaign)[0]), sms_outbox)
    response = client.post("/api/v1/volunteer/ballots/", body, format="json")
    assert response.status_code == 201, response.json()
    resident = User.objects.get(phone="+79123456789")
    assert resident.is_verified
    assert resident.assurance_level == "in_person"
    assert resident.has_verified_phone
    (record,) = resident.in_person_verifications.all()
    assert (record.verified_by, record.document_type) == (volunteer, "passport")
    assert "123456" not in record.document_hmac
    assert resident.full_name == "Иванова Мария Петровна"
    assert resident.birth_date == datetime.date(1960, 5, 17)
    assert resident.municipality.slug == "ekaterinburg"
    assert not resident.has_usable_password()
    participation = Participation.objects.get()
    assert (participation.voter, participation.volunteer, participation.channel) == (resident, volunteer, "volunteer")


def test_volunteer_finds_the_resident_by_verified_phone_once_per_campaign(
    token_client, make_campaign, volunteer, make_user, ids
):
    campaign = make_campaign()
    resident = make_user(
        phone="+79123456789", phone_verified_at=timezone.now(), full_name="Иванова Мария Петровна", verified=False
    )
    resident.birth_date = datetime.date(1960, 5, 17)
    resident.save()
    client = token_client(volunteer)
    assert (
        client.post(
            "/api/v1/volunteer/ballots/",
            volunteer_body(campaign, ids(campaign)[0], phone="+7 912 345 67 89"),
            format="json",
        ).status_code
        == 201
    )
    resident.refresh_from_db()
    assert resident.is_verified
    assert Participation.objects.get().voter == resident
    # The resident then tries on the web API themselves: one ballot per resident.
    response = token_client(resident).post(
        ballot_url(campaign.pk), {"choices": [{"entry": ids(campaign)[1]}]}, format="json"
    )
    assert response.status_code == 409
    assert User.objects.filter(phone="+79123456789").count() == 1


def test_volunteer_refused_when_details_do_not_match(token_client, make_campaign, volunteer, make_user, ids):
    campaign = make_campaign()
    make_user(phone="+79123456789", phone_verified_at=timezone.now(), full_name="Петров Пётр")
    response = token_client(volunteer).post(
        "/api/v1/volunteer/ballots/", volunteer_body(campaign, ids(campaign)[0]), format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "resident_mismatch"
    assert counts() == (0, 0)


def test_refused_volunteer_ballot_creates_no_resident(token_client, make_campaign, volunteer, ids, sms_outbox):
    campaign = make_campaign()
    client = token_client(volunteer)
    body = with_code(client, volunteer_body(campaign, ids(campaign)[0], birth_date="2020-01-01"), sms_outbox)
    response = client.post("/api/v1/volunteer/ballots/", body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "under_age"
    assert not User.objects.filter(phone="+79123456789").exists()
    assert counts() == (0, 0)


@pytest.mark.parametrize(
    "over",
    [{"phone": "12"}, {"phone": "+7 (912) 345-67-8x"}, {"municipality": "atlantis"}, {"birth_date": "3000-01-01"}],
)
def test_volunteer_400_on_bad_resident_details(token_client, make_campaign, volunteer, ids, over):
    campaign = make_campaign()
    response = token_client(volunteer).post(
        "/api/v1/volunteer/ballots/", volunteer_body(campaign, ids(campaign)[0], **over), format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] in {"malformed_request", "invalid_phone"}
    assert counts() == (0, 0)
    assert User.objects.filter(role="resident").count() == 0


def test_residents_are_not_volunteers(token_client, make_campaign, voter, ids):
    campaign = make_campaign()
    response = token_client(voter).post(
        "/api/v1/volunteer/ballots/", volunteer_body(campaign, ids(campaign)[0]), format="json"
    )
    assert response.status_code == 403
    assert counts() == (0, 0)


# --- Schema ------------------------------------------------------------------------


def test_schema_is_valid_openapi(api_client):
    from drf_spectacular.validation import validate_schema

    response = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    ballots = schema["paths"]["/api/v1/campaigns/{id}/ballots/"]["post"]
    assert {"201", "400", "401", "403", "404", "409", "429"} <= set(ballots["responses"])
    assert ballots["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/BallotRequest")
    assert "choices" in schema["components"]["schemas"]["BallotRequest"]["required"]
    assert "/api/v1/volunteer/ballots/" in schema["paths"]
    assert "/api/v1/auth/token/" in schema["paths"]


@pytest.mark.parametrize("slug", ["ekb\x00", "не-слаг", 7])
def test_volunteer_municipality_that_is_not_a_slug_is_a_400(token_client, make_campaign, volunteer, ids, slug):
    campaign = make_campaign()
    body = {**volunteer_body(campaign, ids(campaign)[0]), "municipality": slug}
    response = token_client(volunteer).post("/api/v1/volunteer/ballots/", body, format="json")
    assert response.status_code == 400
    assert "municipality" in response.json()["errors"]
    assert not Ballot.objects.exists()
