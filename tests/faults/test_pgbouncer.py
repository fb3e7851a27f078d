"""The portal through PgBouncer in transaction mode (docs/deploy.md's configuration).

Web and worker reach PostgreSQL only through PgBouncer, whose server connections serve
any client between transactions. Concurrent ballots all land once; a second ballot is
refused by the unique constraint; the window trigger refuses a ballot after the close; the
tally lock (a transaction-level advisory lock) holds across pooled connections; the final
tally, the seal (a server-side cursor) and the ledger download (another) work; nothing
relies on session state.
"""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest

from tests.faults.conftest import scenario, send_task, wait_until
from tests.faults.test_redis_outage import cast_all, post_ballot
from tests.faults.test_replica import get

pytestmark = [pytest.mark.faults]

VOTERS = 60


def test_portal_works_through_pgbouncer_in_transaction_mode(
    fault_database, private_postgres, private_pgbouncer, private_redis, portal_server, celery_worker, services
):
    db = fault_database.rsplit("/", 1)[1]
    pooled = private_pgbouncer.url(db)
    settings = {"DATABASE_PGBOUNCER": "1"}
    env = services.env(pooled, private_redis.url, **settings)
    data = scenario(env, "voters", str(VOTERS))
    tokens, campaign, entries = data["tokens"], data["campaign"], data["entries"]
    web = portal_server(pooled, private_redis.url, workers=2, threads=4, **settings)
    celery_worker(pooled, private_redis.url, **settings)

    answers = cast_all(web.url, campaign, tokens, entries, threads=8)
    assert [status for status, _ in answers] == [201] * VOTERS, [a for a in answers if a[0] != 201][:3]
    again = post_ballot(web.url, campaign, tokens[0], [entries[0]])
    assert again[0] == 409
    assert again[1]["code"] == "already_voted"

    def tally(kind: str):
        rows = private_postgres.query(
            "SELECT status, ballots_counted, computed_at, ledger_head FROM votes_tally"
            " WHERE campaign_id = %s AND kind = %s",
            db,
            [campaign, kind],
        )
        return rows[0] if rows else None

    # The tally lock holds across PgBouncer's pool: while another client (here, this
    # test, in a transaction through PgBouncer) holds the campaign's live-tally lock, the
    # worker's count waits; it completes once that transaction ends.
    from votes.services.locks import advisory_key

    with psycopg.connect(pooled) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [advisory_key(campaign, "live")])
        send_task(private_redis.url, "votes.tasks.tally_live", campaign)
        wait_until(
            lambda: (
                private_postgres.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted", db)[
                    0
                ][0]
                == 1
            ),
            timeout=30,
            what="the worker to wait for the tally lock",
        )
        time.sleep(1)
        assert tally("live") is None  # still waiting, in its first transaction
    wait_until(lambda: tally("live") and tally("live")[:2] == ("done", VOTERS), timeout=60, what="the live tally")

    # Two counts of one campaign at once give the same stored result.
    threads = [
        threading.Thread(target=send_task, args=(private_redis.url, "votes.tasks.tally_live", campaign))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(2)
    wait_until(lambda: tally("live")[:2] == ("done", VOTERS), timeout=60, what="both live tallies")

    # The close: the trigger refuses a late ballot, through PgBouncer too.
    scenario(env, "close_in", str(campaign), "-1")
    with psycopg.connect(pooled, autocommit=True) as conn, pytest.raises(psycopg.errors.CheckViolation) as refused:
        conn.execute(
            "INSERT INTO votes_participation (campaign_id, channel, voted_at) VALUES (%s, 'web', now())",
            [campaign],
        )
    assert refused.value.diag.constraint_name == "ballot_within_voting_window"
    late = post_ballot(web.url, campaign, tokens[1], [entries[0]])
    assert late[0] == 403, late
    assert late[1]["code"] in ("campaign_closed", "campaign_not_open"), late

    # Beat's clock closes it and enqueues the final tally, then the seal (a cursor).
    send_task(private_redis.url, "votes.tasks.campaigns_clock")
    wait_until(lambda: tally("final") and tally("final")[3], timeout=90, what="the final tally and its seal")
    assert tally("final")[:2] == ("done", VOTERS)
    scenario(env, "publish", str(campaign))

    status, body = get(f"{web.url}/campaigns/{campaign}/ledger.jsonl")
    assert status == 200
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert lines[0]["type"] == "header"
    assert lines[0]["head"] == tally("final")[3]
    assert len(lines) == VOTERS + 1
    assert lines[-1]["chain"] == tally("final")[3]  # the chain recomputed while streaming ends at the seal
    status, body = get(f"{web.url}/campaigns/{campaign}/results.pb")
    assert status == 200
    assert body.decode().count("\n") > VOTERS
