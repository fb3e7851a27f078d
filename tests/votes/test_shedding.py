"""Shedding load (portal/shedding.py): a saturated worker answers 503 with Retry-After at
once; a shed ballot writes nothing; static files and exempt pages are still served."""

from __future__ import annotations

import threading
import time

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from portal.shedding import LoadSheddingMiddleware, queue_seconds
from votes.models import Ballot, Participation

pytestmark = pytest.mark.django_db

LONG_AGO = f"t={time.time() - 3600:.3f}"


@pytest.mark.parametrize("scale", [1, 1_000, 1_000_000])
def test_queue_time_is_read_in_seconds_milliseconds_or_microseconds(scale):
    now = 1_800_000_000.0
    assert queue_seconds(f"t={(now - 0.25) * scale:.3f}", now) == pytest.approx(0.25, abs=0.01)


def test_a_garbled_request_start_is_ignored():
    assert queue_seconds("t=soon", 1.0) is None


@override_settings(SHED_MAX_IN_FLIGHT=1, SHED_MAX_QUEUE_MS=0)
def test_a_request_beyond_the_bound_in_flight_is_answered_503_at_once():
    entered, release = threading.Event(), threading.Event()

    def slow_view(request):
        entered.set()
        release.wait(5)
        return HttpResponse("served")

    middleware = LoadSheddingMiddleware(slow_view)
    first: list[HttpResponse] = []
    worker = threading.Thread(target=lambda: first.append(middleware(RequestFactory().get("/campaigns/"))))
    worker.start()
    entered.wait(5)
    shed = middleware(RequestFactory().get("/campaigns/"))
    release.set()
    worker.join(5)
    assert shed.status_code == 503
    assert shed["Retry-After"] == "10"
    assert first[0].status_code == 200
    # The slot is given back: the next request is served.
    release.set()
    assert middleware(RequestFactory().get("/campaigns/")).status_code == 200


@override_settings(SHED_MAX_IN_FLIGHT=0, SHED_MAX_QUEUE_MS=0)
def test_without_bounds_nothing_is_shed(client):
    response = client.get("/", HTTP_X_REQUEST_START=LONG_AGO)
    assert response.status_code == 200


@override_settings(SHED_MAX_QUEUE_MS=500, SHED_RETRY_AFTER=7)
def test_a_page_that_queued_too_long_gets_the_waiting_room_in_russian(client, caplog):
    with caplog.at_level("WARNING", logger="django.request"):
        response = client.get("/", HTTP_X_REQUEST_START=LONG_AGO)
    assert not [r for r in caplog.records if r.name == "django.request"]  # counted, not logged per request
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Length"] == str(len(response.content))  # never chunked on a kept-alive connection
    page = response.content.decode()
    assert "Подождите немного" in page
    assert "data-pause-control" in page
    assert "Остановить автоповтор" in page
    assert 'data-retry-after="7"' in page


@override_settings(SHED_MAX_QUEUE_MS=500)
def test_a_fresh_request_is_served_while_shedding_is_on(client):
    response = client.get("/", HTTP_X_REQUEST_START=f"t={time.time():.3f}")
    assert response.status_code == 200


@override_settings(SHED_MAX_QUEUE_MS=500)
def test_a_shed_api_ballot_writes_nothing_and_says_so_in_json(token_client, make_campaign, voter, ids):
    campaign = make_campaign()
    client = token_client(voter)
    response = client.post(
        f"/api/v1/campaigns/{campaign.pk}/ballots/",
        {"choices": [{"entry": ids(campaign)[0]}]},
        format="json",
        HTTP_X_REQUEST_START=LONG_AGO,
        HTTP_IDEMPOTENCY_KEY="shed-ballot-0000000001",
    )
    assert response.status_code == 503
    assert response.json()["code"] == "overloaded"
    assert response["Retry-After"]
    assert response["Content-Length"] == str(len(response.content))
    assert Participation.objects.count() == 0
    assert Ballot.objects.count() == 0
    # The retry with the same key is not a replay of the 503: it is cast.
    again = client.post(
        f"/api/v1/campaigns/{campaign.pk}/ballots/",
        {"choices": [{"entry": ids(campaign)[0]}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="shed-ballot-0000000001",
    )
    assert again.status_code == 201
    assert Participation.objects.count() == 1


@override_settings(SHED_MAX_QUEUE_MS=500)
def test_results_pages_and_health_checks_are_not_shed(client, make_campaign):
    campaign = make_campaign(phase="closed")
    assert client.get("/health/live/", HTTP_X_REQUEST_START=LONG_AGO).status_code == 200
    results = client.get(f"/campaigns/{campaign.pk}/results/", HTTP_X_REQUEST_START=LONG_AGO)
    assert results.status_code != 503


def test_the_shedding_middleware_runs_after_whitenoise_and_before_the_session():
    from django.conf import settings

    order = settings.MIDDLEWARE
    shedding = order.index("portal.shedding.LoadSheddingMiddleware")
    assert order.index("whitenoise.middleware.WhiteNoiseMiddleware") < shedding
    assert shedding < order.index("django.contrib.sessions.middleware.SessionMiddleware")
    assert shedding < order.index("django.contrib.auth.middleware.AuthenticationMiddleware")
