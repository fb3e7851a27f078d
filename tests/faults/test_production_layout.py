"""docs/deploy.md's layout on this machine, and what it tells the operator when parts stop.

Primary + streaming replica + PgBouncer + Redis + two Celery workers (counting and seal;
mail) + beat + gunicorn, each started with the command deploy.md gives (tests/faults/
layout.py reads them from the file). Residents vote and read through them; the replica
stops, then the counting worker; the campaign closes while it is down and is counted when
it is back; at last PgBouncer stops. At each step `/health/ready/` and `/metrics` are
compared with what is true; every ballot answered 201 is stored once, nothing else is,
and no request ever gets a 500.
"""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.error
import urllib.request
import uuid

import pytest

from tests.faults.conftest import (
    BASE_DIR,
    Service,
    free_port,
    replay_command,
    replica_caught_up,
    scenario,
    wait_until,
)
from tests.faults.layout import deploy_argv, deploy_commands, untagged_command_lines, used_tags

pytestmark = [pytest.mark.faults]

VOTERS = 40
FAST = {
    "HEARTBEAT_INTERVAL": "1",
    "HEARTBEAT_STALE_SECONDS": "4",
    "CAMPAIGN_CLOCK_INTERVAL": "2",
    "LIVE_TALLY_INTERVAL": "3",
    "DATABASE_REPLICA_RETRY_SECONDS": "2",
}


class Client:
    """HTTP to our own gunicorn; remembers every status it saw."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.statuses: list[int] = []
        self.lock = threading.Lock()

    def request(self, path: str, *, data: dict | None = None, headers: dict | None = None) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(  # noqa: S310 - our own local server
            self.base + path,
            data=json.dumps(data).encode() if data is not None else None,
            headers={"Content-Type": "application/json", **(headers or {})},
            method="POST" if data is not None else "GET",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status, head, body = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, head, body = error.code, dict(error.headers), error.read()
        with self.lock:
            self.statuses.append(status)
        return status, head, body

    def ready(self) -> tuple[int, dict]:
        status, head, body = self.request("/health/ready/")
        assert "no-store" in head.get("Cache-Control", "")
        return status, json.loads(body)

    def metrics(self) -> dict[str, float]:
        status, _head, body = self.request("/metrics")
        assert status == 200
        return parse_metrics(body.decode())

    def ballot(self, campaign: int, token: str, entry: int) -> tuple[int, dict]:
        status, _head, body = self.request(
            f"/api/v1/campaigns/{campaign}/ballots/",
            data={"choices": [{"entry": entry}]},
            headers={"Authorization": f"Token {token}"},
        )
        return status, json.loads(body)


def parse_metrics(text: str) -> dict[str, float]:
    """`name{labels}` -> value, labels as Prometheus writes them (sorted by name)."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _space, value = line.rpartition(" ")
            values[key] = float(value)
    return values


def metric(values: dict[str, float], name: str, **labels: str) -> float | None:
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    for key, value in values.items():
        base, _brace, rest = key.partition("{")
        if base == name and all(item in rest for item in wanted):
            return value
    return None


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own worker
        return parse_metrics(response.read().decode())


def test_deploy_doc_commands_are_all_tagged_for_the_harness():
    assert untagged_command_lines() == []
    assert {
        "basebackup",
        "replica-start",
        "replay-pause",
        "replay-resume",
        "pgbouncer",
        "migrate",
        "collectstatic",
        "web",
        "worker-counting",
        "worker-mail",
        "beat",
    } == set(deploy_commands())


def test_production_layout_tells_the_truth_as_parts_stop(
    fault_database, private_postgres, private_replica, private_pgbouncer, private_redis, services
):
    db = fault_database.rsplit("/", 1)[1]
    metrics_dirs = {name: services.tmp_path / f"metrics-{name}" for name in ("web", "counting", "mail")}
    for directory in metrics_dirs.values():
        directory.mkdir()
    web_port, counting_port, mail_port = free_port(), free_port(), free_port()
    common = {
        **FAST,
        "DATABASE_URL": private_pgbouncer.url(db),
        "DATABASE_PGBOUNCER": "1",
        "DATABASE_REPLICA_URL": private_replica.url(db),
        "LOG_FORMAT": "json",
        "STATIC_ROOT": str(services.tmp_path / "static"),
    }

    def env(**extra: str) -> dict[str, str]:
        merged = {**common, **extra}
        return services.env(merged.pop("DATABASE_URL"), private_redis.url, **merged)

    # Once per release: migrate on the primary directly, collect the static files.
    for tag, environment in (
        ("migrate", env(DATABASE_URL=private_postgres.url(db), DATABASE_PGBOUNCER="0")),
        ("collectstatic", env()),
    ):
        result = subprocess.run(
            deploy_argv(tag), cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr

    def start(name: str, tag: str, environment: dict[str, str], **values: str) -> Service:
        return services.popen(name, deploy_argv(tag, **values), environment)

    web = start(
        "web",
        "web",
        env(
            GUNICORN_BIND=f"127.0.0.1:{web_port}",
            GUNICORN_WORKERS="2",
            GUNICORN_THREADS="4",
            PROMETHEUS_MULTIPROC_DIR=str(metrics_dirs["web"]),
        ),
    )

    def counting_worker() -> Service:
        return start(
            "counting",
            "worker-counting",
            env(CELERY_METRICS_PORT=str(counting_port), PROMETHEUS_MULTIPROC_DIR=str(metrics_dirs["counting"])),
        )

    counting = counting_worker()
    start(
        "mail",
        "worker-mail",
        env(CELERY_METRICS_PORT=str(mail_port), PROMETHEUS_MULTIPROC_DIR=str(metrics_dirs["mail"])),
    )
    start("beat", "beat", env(), beat_schedule=str(services.tmp_path / "beat-schedule"))
    client = Client(f"http://127.0.0.1:{web_port}")

    def state() -> tuple[int, dict]:
        if web.process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{web.output()[-3000:]}")
        try:
            return client.ready()
        except OSError:
            return 0, {}

    # 1. Everything up: every check is ok.
    try:
        wait_until(lambda: state()[1].get("status") == "ok", timeout=120, interval=0.5, what="everything up")
    except TimeoutError:
        pytest.fail(f"{state()}\n{web.output()[-3000:]}")
    status, ready = state()
    assert status == 200
    assert {name: check["state"] for name, check in ready["checks"].items()} == {
        "database": "ok",
        "replica": "ok",
        "cache": "ok",
        "broker": "ok",
        "workers": "ok",
        "beat": "ok",
    }
    assert ready["checks"]["workers"]["queues"] == {"counting": 1, "seal": 1, "mail": 1}
    assert "postgres://" not in json.dumps(ready)
    assert "SECRET" not in json.dumps(ready)

    # 2. Residents vote through gunicorn and PgBouncer, and read through the replica.
    data = scenario(env(DATABASE_URL=private_postgres.url(db), DATABASE_PGBOUNCER="0"), "voters", str(VOTERS), "live")
    tokens, campaign, entries = data["tokens"], data["campaign"], data["entries"]
    answers: dict[int, tuple[int, dict]] = {}

    def vote(indexes: range) -> None:
        threads = [
            threading.Thread(
                target=lambda i=i: answers.__setitem__(i, client.ballot(campaign, tokens[i], entries[i % 3]))
            )
            for i in indexes
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    vote(range(20))
    assert client.ballot(campaign, tokens[0], entries[0])[0] == 409  # a second ballot, refused

    def live_counted(count: int):
        rows = private_postgres.query(
            "SELECT ballots_counted, computed_at FROM votes_tally WHERE campaign_id = %s AND kind = 'live'",
            db,
            [campaign],
        )
        return rows and rows[0][0] == count

    wait_until(lambda: live_counted(20), timeout=60, what="beat's live tally of 20 ballots")
    replica_caught_up(private_postgres, private_replica)
    status, _head, body = client.request(f"/campaigns/{campaign}/results.json")
    assert status == 200
    assert json.loads(body)["ballots"] == 20

    values = client.metrics()
    assert metric(values, "portal_ballots_cast_total", channel="api", campaign=str(campaign)) == 20
    assert metric(values, "portal_ballot_refusals_total", code="already_voted") == 1
    assert metric(values, "portal_live_tally_age_seconds", campaign=str(campaign)) is not None
    for queue in ("counting", "seal", "mail"):
        assert metric(values, "portal_celery_queue_depth", queue=queue) is not None
    posts = [
        value
        for key, value in values.items()
        if key.startswith("django_http_requests_latency_seconds_by_view_method_count") and 'method="POST"' in key
    ]
    assert sum(posts) == 21  # every ballot request, timed by view, across both gunicorn workers
    status, _head, _body = client.request("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
    assert status == 403  # a forwarded request is not the direct peer's: only the token opens it

    # A paused replica is reported (results from it get old), and catches up on resume.
    replay_command("replay-pause", private_replica)
    wait_until(lambda: state()[1]["checks"]["replica"].get("replay_paused"), timeout=30, what="the pause reported")
    assert state()[1]["checks"]["replica"]["state"] == "warning"
    replay_command("replay-resume", private_replica)
    wait_until(lambda: state()[1]["status"] == "ok", timeout=30, what="the replica to resume")

    # 3. The replica stops: reported, not required; results come from the primary.
    private_replica.stop(mode="fast")
    request_id = str(uuid.uuid4())
    for _ in range(3):
        status, head, body = client.request(f"/campaigns/{campaign}/results.json", headers={"X-Request-ID": request_id})
        assert status == 200
        assert json.loads(body)["ballots"] == 20
        assert head["X-Request-ID"] == request_id
    status, ready = state()
    assert status == 200
    assert ready["status"] == "degraded"
    assert ready["checks"]["replica"]["state"] == "down"
    assert ready["checks"]["database"]["state"] == "ok"
    vote(range(20, 30))
    log_lines = [json.loads(line) for line in web.output().splitlines() if line.startswith("{")]
    assert any(
        line["request_id"] == request_id and "replica" in line["message"] and line["level"] == "WARNING"
        for line in log_lines
    ), web.output()[-3000:]

    # 4. The counting worker stops: reported; the live count ages and its tasks wait.
    ages = [metric(client.metrics(), "portal_live_tally_age_seconds", campaign=str(campaign))]
    counting.kill()
    wait_until(lambda: state()[1]["checks"]["workers"]["state"] == "down", timeout=30, what="the worker to be missed")
    status, ready = state()
    assert status == 200
    assert ready["status"] == "degraded"
    assert ready["checks"]["workers"]["queues"] == {"counting": 0, "seal": 0, "mail": 1}
    assert "counting" in ready["checks"]["workers"]["detail"]
    wait_until(
        lambda: metric(client.metrics(), "portal_celery_queue_depth", queue="counting") >= 2,
        timeout=30,
        what="beat's tasks to wait in the counting queue",
    )
    ages.append(metric(client.metrics(), "portal_live_tally_age_seconds", campaign=str(campaign)))
    assert ages[1] > ages[0]
    assert live_counted(20)  # nobody counted the ten ballots cast meanwhile

    # 5. The vote closes while the worker is down; it is counted and sealed once it is back.
    scenario(env(DATABASE_URL=private_postgres.url(db), DATABASE_PGBOUNCER="0"), "close_in", str(campaign), "-1")
    counting = counting_worker()

    def final():
        rows = private_postgres.query(
            "SELECT status, ballots_counted, ledger_head FROM votes_tally WHERE campaign_id = %s AND kind = 'final'",
            db,
            [campaign],
        )
        return rows[0] if rows else None

    wait_until(lambda: final() and final()[2], timeout=120, interval=0.5, what="the final tally and its seal")
    assert final()[:2] == ("done", 30)
    wait_until(lambda: state()[1]["checks"]["workers"]["state"] == "ok", timeout=30, what="the worker to be back")
    wait_until(
        lambda: metric(client.metrics(), "portal_celery_queue_depth", queue="counting") == 0,
        timeout=60,
        what="the counting queue to drain",
    )
    worker_values = scrape(f"http://127.0.0.1:{counting_port}/metrics")
    assert metric(worker_values, "portal_ledger_seal_duration_seconds_count") == 1
    assert metric(worker_values, "portal_ledger_sealed_ballots_total") == 30
    assert metric(client.metrics(), "portal_live_tally_age_seconds", campaign=str(campaign)) is None  # closed

    scenario(env(DATABASE_URL=private_postgres.url(db), DATABASE_PGBOUNCER="0"), "publish", str(campaign))
    status, _head, body = client.request(f"/campaigns/{campaign}/ledger.jsonl")
    assert status == 200
    ledger = [json.loads(line) for line in body.decode().splitlines()]
    assert len(ledger) == 31
    assert ledger[-1]["chain"] == final()[2]

    # Nothing lost: the ballots stored are exactly those answered 201.
    created = [body for status, body in answers.values() if status == 201]
    assert len(created) == 30
    stored = {
        row[0]
        for row in private_postgres.query(
            "SELECT receipt_hash FROM votes_ballot WHERE campaign_id = %s", db, [campaign]
        )
    }
    assert stored == {body["receipt_hash"] for body in created}

    # 6. PgBouncer stops: the web cannot reach its database. Not ready (503), and a
    # resident gets a clear 503, never a 500.
    private_pgbouncer.stop()
    wait_until(lambda: state()[0] == 503, timeout=30, what="ready to answer 503")
    status, ready = state()
    assert ready["status"] == "down"
    assert ready["checks"]["database"]["state"] == "down"
    assert ready["checks"]["database"]["required"] is True
    status, refusal = client.ballot(campaign, tokens[35], entries[0])
    assert status == 503
    assert refusal["detail"]
    status, _head, _body = client.request("/health/live/")
    assert status == 200
    assert 500 not in client.statuses, sorted(set(client.statuses))
    assert used_tags() == set(deploy_commands())  # every command of deploy.md ran
