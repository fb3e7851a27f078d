"""Results from a real streaming replica, which is paused, then stopped.

The portal (gunicorn) reads results pages, exports and the ledger from a hot standby made
with docs/deploy.md's pg_basebackup command. While the replica's replay is paused
(`pg_wal_replay_pause()`), a resident who votes sees their ballot at once (the API's
receipt and "my ballots" come from the primary), and the results the replica serves are
its older state as a whole: the count of the page equals the count of its JSON export and
of its tally row on the replica, never the primary's newer one; and the page rendered
from the lagging replica is not left in the cache, so once replay resumes the page shows
the new count. The published ledger streams from the replica; with the replica stopped, results and
the ledger come from the primary: no 500.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from tests.faults.conftest import manage, replay_command, replica_caught_up, scenario
from tests.faults.test_redis_outage import post_ballot

pytestmark = [pytest.mark.faults]

VOTERS = 10


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Token {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own local server
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def page_ballots(html: bytes) -> int:
    match = re.search(r"<dt>Бюллетени</dt><dd>([\d\s\u00a0]+)</dd>", html.decode())
    assert match, html.decode()[:3000]
    return int(re.sub(r"\D", "", match[1]))


def live_count(server, database: str, campaign: int) -> int:
    rows = server.query(
        "SELECT ballots_counted FROM votes_tally WHERE campaign_id = %s AND kind = 'live'", database, [campaign]
    )
    return rows[0][0] if rows else -1


def test_paused_replica_serves_its_own_consistent_state_and_residents_see_their_ballot(
    fault_database, private_postgres, private_replica, private_redis, portal_server, services
):
    db = fault_database.rsplit("/", 1)[1]
    replica_url = private_replica.url(db)
    # Every process of the deployment has the same settings: `manage.py tally` below
    # stands for the worker, and knows the replica as the web does.
    env = services.env(fault_database, private_redis.url, DATABASE_REPLICA_URL=replica_url)
    data = scenario(env, "voters", str(VOTERS), "live")
    tokens, campaign, entries = data["tokens"], data["campaign"], data["entries"]
    web = portal_server(fault_database, private_redis.url, DATABASE_REPLICA_URL=replica_url)
    results = f"{web.url}/campaigns/{campaign}/results/"

    first = [post_ballot(web.url, campaign, token, [entries[0]]) for token in tokens[:4]]
    assert [status for status, _ in first] == [201] * 4
    manage(env, "tally", str(campaign))  # a live tally, on the primary
    replica_caught_up(private_postgres, private_replica)
    status, html = get(results)
    assert status == 200
    assert page_ballots(html) == 4

    replay_command("replay-pause", private_replica)
    voted = [post_ballot(web.url, campaign, token, [entries[1]]) for token in tokens[4:10]]
    assert [status for status, _ in voted] == [201] * 6
    manage(env, "tally", str(campaign))  # the primary now counts 10
    assert live_count(private_postgres, db, campaign) == 10

    # The resident's own participations come from the primary, at once (where and when;
    # the box keeps no voter, so no receipt is listed).
    for token, (_status, receipt) in zip(tokens[4:10], voted, strict=True):
        status, body = get(f"{web.url}/api/v1/ballots/mine/", token)
        assert status == 200
        mine = json.loads(body)
        listed = mine["results"] if isinstance(mine, dict) else mine
        assert [item["campaign"] for item in listed] == [campaign], listed
        assert listed[0]["cast_at"] == receipt["cast_at"], listed
        assert receipt["receipt_hash"] not in body.decode()

    # Results come from the paused replica: its older state, whole and consistent.
    assert live_count(private_replica, db, campaign) == 4
    status, html = get(results)
    assert status == 200
    assert page_ballots(html) == 4
    status, body = get(f"{web.url}/campaigns/{campaign}/results.json")
    assert status == 200
    assert json.loads(body)["ballots"] == 4
    status, body = get(f"{web.url}/api/v1/campaigns/{campaign}/results/")
    assert status == 200
    assert json.loads(body)["ballots"] == 4
    ready = json.loads(get(f"{web.url}/health/ready/")[1])
    assert ready["checks"]["replica"]["state"] == "warning"
    assert ready["checks"]["replica"]["replay_paused"]
    assert ready["status"] == "degraded"

    # Replay resumes: the page rendered while the replica lagged was not kept in the cache.
    replay_command("replay-resume", private_replica)
    replica_caught_up(private_postgres, private_replica)
    status, html = get(results)
    assert status == 200
    assert page_ballots(html) == 10
    assert json.loads(get(f"{web.url}/health/ready/")[1])["checks"]["replica"]["state"] == "ok"

    # The vote closes, is counted and sealed (in the foreground, as an official may) and
    # published: the ledger streams from the replica (a server-side cursor in a read-only
    # transaction on the standby), and ends at the head its header names.
    scenario(env, "close", str(campaign))
    manage(env, "tally", str(campaign), "--final")
    scenario(env, "publish", str(campaign))
    replica_caught_up(private_postgres, private_replica)
    status, body = get(f"{web.url}/campaigns/{campaign}/ledger.jsonl")
    assert status == 200
    ledger = [json.loads(line) for line in body.decode().splitlines()]
    assert ledger[0]["ballots"] == 10
    assert len(ledger) == 11
    assert ledger[-1]["chain"] == ledger[0]["head"]

    # The replica stops: results and the ledger come from the primary, no 500.
    private_replica.stop(mode="immediate")
    for _ in range(3):  # each gunicorn worker meets the dead replica once
        status, body = get(f"{web.url}/campaigns/{campaign}/results.json")
        assert status == 200
        assert json.loads(body)["ballots"] == 10
        assert json.loads(body)["final"]
    status, html = get(results)
    assert status == 200
    assert page_ballots(html) == 10
    status, body = get(f"{web.url}/campaigns/{campaign}/ledger.jsonl")
    assert status == 200
    assert len(body.decode().splitlines()) == 11
    status, body = get(f"{web.url}/health/ready/")
    ready = json.loads(body)
    assert status == 200
    assert ready["checks"]["replica"]["state"] == "down"
    assert ready["checks"]["database"]["state"] == "ok"
    assert ready["status"] == "degraded"
    stored = private_postgres.query("SELECT count(*) FROM votes_ballot WHERE campaign_id = %s", db, [campaign])
    assert stored == [(10,)]
