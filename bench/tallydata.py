"""Bulk-generated choose-1 ballots for the tally figures, straight in SQL.

Millions of ballots cannot come through the API in a ten-minute benchmark, so they are
generated with `INSERT ... SELECT ... generate_series` as an official's paper import
would store them: channel 'import' with an external voter id (the window trigger lets
imports through, so the campaign may already be closed), one BallotChoice per ballot
with the ballot's campaign repeated. Preferences are skewed (entry k gets about twice
the votes of entry k+1 near the top) so that the tally has a clear order.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg

CHUNK = 1_000_000


def campaign_ballots(conn: psycopg.Connection, campaign_id: int) -> tuple[int, int]:
    """(ballots, choices) stored for the campaign."""
    ballots = conn.execute("SELECT count(*) FROM votes_ballot WHERE campaign_id = %s", (campaign_id,)).fetchone()[0]
    choices = conn.execute("SELECT count(*) FROM votes_ballotchoice WHERE campaign_id = %s", (campaign_id,)).fetchone()[
        0
    ]
    return ballots, choices


def ballots_generate(
    conn: psycopg.Connection, *, campaign_id: int, entry_ids: list[int], count: int, log: Callable[[str], None]
) -> None:
    """Make the campaign hold exactly `count` choose-1 ballots (no-op when it already does).

    `conn` is in autocommit mode: each chunk commits on its own, and VACUUM needs it.
    """
    if campaign_ballots(conn, campaign_id) == (count, count):
        log(f"campaign {campaign_id}: {count:,} ballots already there")
        return
    conn.execute("DELETE FROM votes_ballotchoice WHERE campaign_id = %s", (campaign_id,))
    conn.execute("DELETE FROM votes_ballot WHERE campaign_id = %s", (campaign_id,))
    # Generated rows are consistent by construction (the choice copies its ballot's
    # campaign and names an entry of it), so per-row foreign-key triggers are skipped
    # for the load, as pg_restore does; the constraints stay defined on the tables.
    conn.execute("SET session_replication_role = replica")
    conn.execute("SET synchronous_commit = off")
    conn.execute("SELECT setseed(0.42)")
    for start in range(0, count, CHUNK):
        stop = min(count, start + CHUNK)
        began = time.perf_counter()
        conn.execute(
            """
            WITH new AS (
                INSERT INTO votes_ballot (campaign_id, external_voter_id, channel, cast_at, receipt_hash)
                SELECT %(campaign)s, 'bench-' || g, 'import', now(),
                       encode(sha256(convert_to('bench:' || %(campaign)s || ':' || g, 'UTF8')), 'hex')
                FROM generate_series(%(start)s + 1, %(stop)s) AS g
                RETURNING id
            )
            INSERT INTO votes_ballotchoice (ballot_id, campaign_id, entry_id, points)
            SELECT new.id, %(campaign)s,
                   (%(entries)s::bigint[])[1 + least(floor(-ln(1 - random()) / ln(2))::int, %(last)s)], 1
            FROM new
            """,
            {"campaign": campaign_id, "start": start, "stop": stop, "entries": entry_ids, "last": len(entry_ids) - 1},
        )
        log(f"campaign {campaign_id}: {stop:,}/{count:,} ballots ({time.perf_counter() - began:.1f} s)")
    conn.execute("SET session_replication_role = DEFAULT")
    conn.execute("VACUUM (ANALYZE) votes_ballot")
    conn.execute("VACUUM (ANALYZE) votes_ballotchoice")
