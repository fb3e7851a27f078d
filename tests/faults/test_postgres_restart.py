"""PostgreSQL restarts (`pg_ctl restart -m fast`) while residents post ballots.

Requests in flight get a clear JSON 503 with a detail, never a 500 page with a
traceback; every ballot answered 201 is in the database afterwards, once, and nothing
that was not answered 201 was stored.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.faults.conftest import scenario
from tests.faults.test_redis_outage import post_ballot

pytestmark = [pytest.mark.faults]

VOTERS = 240
THREADS = 8


def test_requests_during_a_postgres_restart_get_503_and_no_201_is_lost(
    fault_database, private_postgres, portal_server, services
):
    env = services.env(fault_database, None)
    data = scenario(env, "voters", str(VOTERS))
    tokens, campaign, entries = data["tokens"], data["campaign"], data["entries"]
    web = portal_server(fault_database, None, workers=2, threads=4)

    answers: list = [None] * VOTERS
    started = threading.Event()

    def work(offset: int) -> None:
        for i in range(offset, VOTERS, THREADS):
            started.set()
            answers[i] = post_ballot(web.url, campaign, tokens[i], [entries[i % len(entries)]])
            time.sleep(0.01)

    clients = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for client in clients:
        client.start()
    started.wait(timeout=30)
    time.sleep(0.5)
    private_postgres.restart(mode="fast")
    time.sleep(0.5)
    private_postgres.restart(mode="fast")  # twice, to catch requests at both ends of a restart
    for client in clients:
        client.join(timeout=180)

    statuses = [status for status, _body in answers]
    assert set(statuses) <= {201, 503}, [a for a in answers if a[0] not in (201, 503)][:3]
    unavailable = [body for status, body in answers if status == 503]
    assert unavailable, "no request met the restart: the test did not exercise the fault"
    assert all(isinstance(body.get("detail"), str) and body["detail"] for body in unavailable)
    assert not any("Traceback" in str(body) for body in unavailable)
    assert statuses.count(201) > 0

    db = fault_database.rsplit("/", 1)[1]
    stored = [
        row[0]
        for row in private_postgres.query(
            "SELECT receipt_hash FROM votes_ballot WHERE campaign_id = %s", db, [campaign]
        )
    ]
    answered = [body["receipt_hash"] for status, body in answers if status == 201]
    assert len(stored) == len(set(stored))
    assert set(stored) == set(answered)  # every 201 stored; nothing stored without a 201
