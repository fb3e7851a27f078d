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

    `conn` is in autocommit mode (VACUUM needs it); the load itself is one transaction.
    """
    if campaign_ballots(conn, campaign_id) == (count, count):
        log(f"campaign {campaign_id}: {count:,} ballots already there")
        return
    # One transaction: if the load is interrupted, the rollback also restores the
    # indexes dropped below.
    with conn.transaction():
        # Generated rows are consistent by construction (the choice copies its ballot's
        # campaign and names an entry of it), so per-row foreign-key triggers are skipped
        # for the load, as pg_restore does; the constraints stay defined on the tables.
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        # The same seed for every campaign: the ballot ids mix in the campaign, else the
        # second campaign drew the first one's ids again (a fresh machine's first run failed).
        conn.execute("SELECT setseed(0.42)")
        # Receipt hashes are random: maintaining their two indexes row by row costs a
        # random page per row once they outgrow shared_buffers (most of the load time).
        # They are dropped and rebuilt by a sort, exactly as they were defined.
        rebuild = _receipt_indexes_drop(conn)
        conn.execute("DELETE FROM votes_ballotchoice WHERE campaign_id = %s", (campaign_id,))
        conn.execute("DELETE FROM votes_ballot WHERE campaign_id = %s", (campaign_id,))
        conn.execute("DELETE FROM votes_participation WHERE campaign_id = %s", (campaign_id,))
        for start in range(0, count, CHUNK):
            stop = min(count, start + CHUNK)
            began = time.perf_counter()
            conn.execute(
                """
                WITH register AS (
                    INSERT INTO votes_participation (campaign_id, external_voter_id, channel, voted_at)
                    SELECT %(campaign)s, 'bench-' || lpad(g::text, 9, '0'), 'import', now()
                    FROM generate_series(%(start)s + 1, %(stop)s) AS g
                ), new AS (
                    INSERT INTO votes_ballot (id, campaign_id, cast_on, receipt_hash, annulled_reason)
                    SELECT (('x' || substr(md5(random()::text || %(campaign)s || ':' || g), 1, 16))::bit(64)::bigint
                            & 9223372036854775807),
                           %(campaign)s, current_date,
                           encode(sha256(convert_to('bench:' || %(campaign)s || ':' || g, 'UTF8')), 'hex'), ''
                    FROM generate_series(%(start)s + 1, %(stop)s) AS g
                    RETURNING id
                )
                INSERT INTO votes_ballotchoice (ballot_id, campaign_id, entry_id, points)
                SELECT new.id, %(campaign)s,
                       (%(entries)s::bigint[])[1 + least(floor(-ln(1 - random()) / ln(2))::int, %(last)s)], 1
                FROM new
                """,
                {
                    "campaign": campaign_id,
                    "start": start,
                    "stop": stop,
                    "entries": entry_ids,
                    "last": len(entry_ids) - 1,
                },
            )
            log(f"campaign {campaign_id}: {stop:,}/{count:,} ballots ({time.perf_counter() - began:.1f} s)")
        began = time.perf_counter()
        for statement in rebuild:
            conn.execute(statement)
        log(f"campaign {campaign_id}: receipt indexes rebuilt ({time.perf_counter() - began:.1f} s)")
    conn.execute("VACUUM (ANALYZE) votes_ballot")
    conn.execute("VACUUM (ANALYZE) votes_ballotchoice")


def _receipt_indexes_drop(conn: psycopg.Connection) -> list[str]:
    """Drop the indexes of votes_ballot on receipt_hash; return the statements that rebuild them."""
    rebuild = []
    rows = conn.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid), c.conname, pg_get_constraintdef(c.oid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY (x.indkey)
        LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
        WHERE x.indrelid = 'votes_ballot'::regclass AND a.attname = 'receipt_hash'
        """
    ).fetchall()
    for index, index_def, constraint, constraint_def in rows:
        if constraint:
            conn.execute(f'ALTER TABLE votes_ballot DROP CONSTRAINT "{constraint}"')
            rebuild.append(f'ALTER TABLE votes_ballot ADD CONSTRAINT "{constraint}" {constraint_def}')
        else:
            conn.execute(f'DROP INDEX "{index}"')
            rebuild.append(index_def)
    return rebuild
