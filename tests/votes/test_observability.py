"""/health/live/, /health/ready/ and /metrics in the process, against the real Redis at
REDIS_URL; the request id carried into the tasks a request enqueues. The same endpoints
with every server running, and parts stopped, are in tests/faults/test_production_layout.py."""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from portal import heartbeats
from portal.metrics import BALLOT_REFUSALS, BALLOTS_CAST

pytestmark = pytest.mark.django_db

needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs a Redis server at REDIS_URL")


@pytest.fixture
def redis_client():
    client = heartbeats.redis_client()
    client.delete(heartbeats.WORKERS_KEY, heartbeats.BEAT_KEY)
    yield client
    client.delete(heartbeats.WORKERS_KEY, heartbeats.BEAT_KEY)


def test_live_answers_without_the_database_and_is_never_cached(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.redis
@needs_redis
def test_ready_names_each_check_and_reports_missing_workers_and_beat(client, redis_client):
    response = client.get("/health/ready/")
    assert response.status_code == 200  # only the database is required by default
    body = response.json()
    assert "no-store" in response["Cache-Control"]
    assert {name: check["state"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "replica": "off",
        "cache": "ok",
        "broker": "ok",
        "workers": "down",
        "beat": "down",
    }
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["required"] is True
    text = response.content.decode()
    assert settings.SECRET_KEY not in text
    assert "redis://" not in text
    assert "postgres://" not in text


@pytest.mark.redis
@needs_redis
def test_ready_counts_live_heartbeats_per_queue_and_ignores_stale_ones(client, redis_client):
    now = time.time()
    heartbeats.worker_heartbeat_write(redis_client, name="counting@a", queues=["counting", "seal"], now=now)
    heartbeats.worker_heartbeat_write(redis_client, name="mail@b", queues=["mail"], now=now - 600)  # long gone
    redis_client.set(heartbeats.BEAT_KEY, str(now))
    workers = client.get("/health/ready/").json()["checks"]["workers"]
    assert workers["state"] == "down"
    assert workers["queues"] == {"counting": 1, "seal": 1, "mail": 0}
    assert workers["detail"] == "no live worker consumes mail"

    heartbeats.worker_heartbeat_write(redis_client, name="mail@b", queues=["mail"], now=now)
    body = client.get("/health/ready/").json()
    assert body["checks"]["workers"]["state"] == "ok"
    assert body["checks"]["workers"]["workers"] == 2
    assert body["checks"]["beat"]["state"] == "ok"
    assert body["status"] == "ok"


@pytest.mark.redis
@needs_redis
def test_ready_is_503_when_a_required_check_is_down(client, redis_client):
    # An operator who wants beat to be required gets 503 while beat has not ticked.
    with override_settings(HEALTH_READY_REQUIRED=["database", "beat"]):
        response = client.get("/health/ready/")
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["beat"] == {
        "state": "down",
        "required": True,
        "ms": response.json()["checks"]["beat"]["ms"],
        "detail": "beat has not ticked",
    }


@pytest.mark.redis
@needs_redis
def test_ready_reports_the_cache_down_although_the_cache_fails_open(client, redis_client):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    unreachable = {
        "default": {
            "BACKEND": "portal.cache.FailOpenRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with override_settings(CACHES=unreachable):
        # The cache answers as an empty one (the portal keeps serving) ...
        assert caches["default"].get("anything", "missing") == "missing"
        response = client.get("/health/ready/")
    # ... and readiness still tells the operator that it is down, without failing the web.
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["state"] == "down"
    assert body["checks"]["cache"]["required"] is False
    assert body["checks"]["cache"]["detail"] == (
        "the cache (Redis) does not answer: rate limits are off and pages are not cached"
    )
    assert body["checks"]["broker"]["state"] == "ok"  # the broker is another client


@pytest.mark.redis
@needs_redis
def test_probes_reuse_the_process_connections_to_redis(client, redis_client, monkeypatch):
    from redis.connection import Connection

    opened = []
    connect = Connection._connect

    def counted(self):
        opened.append(self)
        return connect(self)

    monkeypatch.setattr(Connection, "_connect", counted)
    for _ in range(20):
        assert client.get("/health/ready/").status_code == 200
    # The four Redis checks run at once on one pool: it grows to four connections at
    # most, where a connection per probe would be twenty.
    assert len(opened) <= 4


def test_metrics_only_from_allowed_networks_or_with_the_token(client):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.5").status_code == 403
    # A forwarded header does not make a stranger local.
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403
    with override_settings(METRICS_TOKEN="s3cret-token"):
        allowed = client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Bearer s3cret-token")
        refused = client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Bearer wrong")
    assert allowed.status_code == 200
    assert b"portal_ballots_cast" in allowed.content
    assert refused.status_code == 403
    assert "no-store" in allowed["Cache-Control"]


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "token", "status"),
    [
        # Prometheus on its own network, scraping the web host directly.
        ({"TRUSTED_PROXY_NETWORKS": ["10.0.0.0/24"]}, "10.0.8.3", None, False, 200),
        # A visitor through the load balancer, whose network METRICS_ALLOWED_NETWORKS contains.
        ({"TRUSTED_PROXY_NETWORKS": ["10.0.0.0/24"]}, "10.0.0.7", "198.51.100.9", False, 403),
        # The load balancer's own request (no forwarded header): still a proxy, not Prometheus.
        ({"TRUSTED_PROXY_NETWORKS": ["10.0.0.0/24"]}, "10.0.0.7", None, False, 403),
        # A header written by a direct peer is its own (portal.middleware drops it): Prometheus still.
        ({"TRUSTED_PROXY_NETWORKS": ["10.0.0.0/24"]}, "10.0.8.3", "198.51.100.9", False, 200),
        # No proxy configured, yet the request was forwarded: through something, so refused.
        ({}, "10.0.8.3", "198.51.100.9", False, 403),
        # Proxies counted rather than named: the forwarded header is what tells.
        ({"TRUSTED_PROXY_COUNT": 1}, "10.0.0.7", "198.51.100.9", False, 403),
        # Through the load balancer, the token still works.
        ({"TRUSTED_PROXY_NETWORKS": ["10.0.0.0/24"]}, "10.0.0.7", "198.51.100.9", True, 200),
    ],
)
def test_metrics_through_the_load_balancer_need_the_token_even_from_an_allowed_network(
    client, proxies, remote, forwarded, token, status
):
    headers = {"REMOTE_ADDR": remote}
    if forwarded:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    if token:
        headers["HTTP_AUTHORIZATION"] = "Bearer s3cret-token"
    # The networks of an operator who gave Prometheus the whole private range, load balancers included.
    with override_settings(METRICS_ALLOWED_NETWORKS=["10.0.0.0/8"], METRICS_TOKEN="s3cret-token", **proxies):
        assert client.get("/metrics", **headers).status_code == status


def _value(counter, **labels) -> float:
    return counter.labels(**labels)._value.get()


def test_metrics_count_committed_ballots_by_channel_and_campaign_and_refusals_by_code(
    token_client, make_campaign, voter, ids, django_capture_on_commit_callbacks, client
):
    campaign = make_campaign()
    api = token_client(voter)
    entry = ids(campaign)[0]
    cast_before = _value(BALLOTS_CAST, channel="api", campaign=str(campaign.pk))
    refused_before = _value(BALLOT_REFUSALS, code="already_voted")
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(f"/api/v1/campaigns/{campaign.pk}/ballots/", {"choices": [{"entry": entry}]}, format="json")
        second = api.post(f"/api/v1/campaigns/{campaign.pk}/ballots/", {"choices": [{"entry": entry}]}, format="json")
    assert (first.status_code, second.status_code) == (201, 409)
    assert _value(BALLOTS_CAST, channel="api", campaign=str(campaign.pk)) == cast_before + 1
    assert _value(BALLOT_REFUSALS, code="already_voted") == refused_before + 1
    text = client.get("/metrics").content.decode()
    assert f'portal_ballots_cast_total{{campaign="{campaign.pk}",channel="api"}} {cast_before + 1}' in text
    # The open campaign's live count has an age (since it opened: never counted yet).
    assert f'portal_live_tally_age_seconds{{campaign="{campaign.pk}"}}' in text


def test_a_refused_ballot_is_not_counted_as_cast(
    token_client, make_campaign, voter, django_capture_on_commit_callbacks
):
    campaign = make_campaign()
    before = _value(BALLOTS_CAST, channel="api", campaign=str(campaign.pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = token_client(voter).post(
            f"/api/v1/campaigns/{campaign.pk}/ballots/", {"choices": [{"entry": 0}]}, format="json"
        )
    assert response.status_code == 400
    assert _value(BALLOTS_CAST, channel="api", campaign=str(campaign.pk)) == before


@pytest.mark.redis
@needs_redis
@pytest.mark.django_db(transaction=True)  # real commits: the task is sent inside the request
def test_request_id_travels_with_the_task_the_request_enqueues(client, make_campaign, superuser):
    from redis import Redis

    campaign = make_campaign()
    client.force_login(superuser)
    broker = Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("counting")
    request_id = str(uuid.uuid4())
    response = client.post(
        "/admin/votes/campaign/",
        {"action": "recount_now", "_selected_action": [campaign.pk]},
        HTTP_X_REQUEST_ID=request_id,
    )
    assert response.status_code == 302
    assert response["X-Request-ID"] == request_id
    messages = [json.loads(raw) for raw in broker.lrange("counting", 0, -1)]
    broker.delete("counting")
    assert [m["headers"]["task"] for m in messages] == ["votes.tasks.tally_live"]
    assert messages[0]["headers"]["X-Request-ID"] == request_id
    assert json.loads(base64.b64decode(messages[0]["body"]))[0] == [campaign.pk]


def test_a_client_request_id_that_is_not_a_uuid_is_replaced(client):
    response = client.get("/about/", HTTP_X_REQUEST_ID="<script>x</script>")
    assert response.status_code == 200
    assert uuid.UUID(response["X-Request-ID"])


def test_the_grafana_dashboard_reads_metrics_the_portal_exports(client):
    import re
    from pathlib import Path

    dashboard = json.loads((Path(settings.BASE_DIR) / "docs" / "grafana-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    names = {
        re.sub(r"_(bucket|sum|count)$", "", name)
        for expr in expressions
        for name in re.findall(r"\b((?:portal|django_http)_[a-z_]+)", expr)
    }
    client.get("/about/")  # django-prometheus's series appear with the first request
    exported = client.get("/metrics").content.decode()
    types = set(re.findall(r"^# TYPE (\S+) ", exported, flags=re.M))
    missing = [name for name in sorted(names) if name not in types and name.removesuffix("_total") not in types]
    assert len(names) >= 6
    assert missing == []
