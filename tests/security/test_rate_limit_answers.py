"""Every 429 says why in a stable `code` and when to come back in `Retry-After`: the
API's throttles, allauth's log-in and sign-up limits, and the ballot ledger's lookup
(which the outside review queried 300 times in 9.6 s with no limit)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from tests.builders import approve_verification
from tests.votes.counting_fixtures import campaign, cast, receipt_of
from votes import services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


def rates(**changed):
    from django.conf import settings

    merged = {**api_settings.DEFAULT_THROTTLE_RATES, **changed}
    return override_settings(
        THROTTLE=True, REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": merged}
    )


def test_the_api_says_throttled_and_when_to_retry():
    client = APIClient()
    with rates(auth_ip="2/min"):
        answers = [
            client.post("/api/v1/auth/token/", {"email": "a@example.org", "password": "x"}, format="json")
            for _ in range(3)
        ]
    assert [answer.status_code for answer in answers] == [400, 400, 429]
    body = answers[-1].json()
    assert body["code"] == "throttled"
    assert body["detail"]
    assert 0 < int(answers[-1]["Retry-After"]) <= 60


def test_other_api_errors_carry_their_code_too():
    response = APIClient().get("/api/v1/ballots/mine/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def log_in(client: Client, n: int):
    return client.post("/accounts/login/", {"login": f"nobody{n}@example.org", "password": "wrong"})


@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "2/m/ip,5/5m/key", "signup": "1/m/ip"})
def test_allauth_pages_say_rate_limited_and_when_to_retry():
    client = Client()
    statuses = [log_in(client, n).status_code for n in range(3)]
    assert statuses == [200, 200, 429]
    limited = log_in(client, 9)
    assert limited.status_code == 429
    assert limited["Retry-After"] == "300"  # the longest window of the log-in limits: 5 minutes
    html = limited.content.decode()
    assert 'data-code="rate_limited"' in html
    assert "Слишком много попыток" in html
    assert "5 минут" in html

    password = "Sekret-pass-2026"
    signup = {"email": "new1@example.org", "password1": password, "password2": password, "privacy_consent": "on"}
    assert client.post("/accounts/signup/", signup).status_code == 302
    again = client.post("/accounts/signup/", {**signup, "email": "new2@example.org"})
    assert again.status_code == 429
    assert again["Retry-After"] == "60"
    assert "1 минуту" in again.content.decode()


def published():
    obj = campaign(costs={"a": 60, "b": 50}, budget=100)
    cast(obj, "v1", {"a": 1})
    services.tally_compute(campaign_id=obj.pk, final=True)
    services.ledger_seal(campaign_id=obj.pk)
    approve_verification(obj)
    services.results_publish(campaign=obj)
    return obj


def test_the_ledger_lookup_is_limited_per_address():
    obj = published()
    url = f"/campaigns/{obj.pk}/ledger/"
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    with rates(ledger_lookup="3/min"):
        # Opening the page is not a lookup.
        assert {client.get(url).status_code for _ in range(5)} == {200}
        statuses = [client.post(url, {"receipt": f"GUESS-{n:05d}"}).status_code for n in range(3)]
        limited = client.post(url, {"receipt": receipt_of(obj.pk, "v1")})
        # A code in a query string is no lookup: it neither counts nor gets past the limit.
        by_url = client.get(url, {"receipt": receipt_of(obj.pk, "v1")})
        assert by_url.status_code == 302
        in_russian = Client().post(url, {"receipt": receipt_of(obj.pk, "v1")})  # the site's language
        elsewhere = Client(REMOTE_ADDR="192.0.2.50", HTTP_ACCEPT_LANGUAGE="en")
        other_address = elsewhere.post(url, {"receipt": receipt_of(obj.pk, "v1")})
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert 0 < int(limited["Retry-After"]) <= 60
    assert 'data-code="rate_limited"' in limited.content.decode()
    assert in_russian.status_code == 429
    assert "Слишком много попыток" in in_russian.content.decode()
    assert in_russian["Retry-After"]
    assert other_address.status_code == 200
    assert "Your ballot is in the ledger" in other_address.content.decode()
