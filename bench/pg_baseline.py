"""Baseline of the ballot figure: the same rows, written by bare psycopg connections.

N connections (asyncio, psycopg 3), one transaction per ballot: INSERT the ballot (the
window trigger runs, as for the portal), INSERT its choice, COMMIT. This is what the
database and the machine can do for ballots with no HTTP, no Django and no validation,
so `API ballots/s / this` is the share of the bare limit the portal keeps.

Prints one JSON document: ballots written, elapsed seconds, ballots/s, p50/p99 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import secrets
import sys
import time

import psycopg

# The same rows as the portal writes: a participation in the register, a ballot in the
# box (random id, the day only) and its choice, in one statement.
BALLOT_SQL = """
    WITH participation AS (
        INSERT INTO votes_participation (campaign_id, voter_id, channel, voted_at)
        VALUES (%(campaign)s, %(voter)s, 'api', now()) RETURNING voted_at
    ), ballot AS (
        INSERT INTO votes_ballot (id, campaign_id, cast_on, receipt_hash, annulled_reason)
        SELECT %(ballot)s, %(campaign)s, voted_at::date, %(receipt)s, '' FROM participation RETURNING id
    )
    INSERT INTO votes_ballotchoice (ballot_id, campaign_id, entry_id, points)
    SELECT ballot.id, %(campaign)s, %(entry)s, 1 FROM ballot
"""


async def main(args) -> dict:
    with open(args.voters, encoding="utf-8") as handle:
        voter_ids = [int(x) for x in handle.read().split()]
    queue = iter(voter_ids)
    latencies: list[float] = []
    deadline = time.perf_counter() + args.duration

    async def worker(n: int) -> None:
        async with await psycopg.AsyncConnection.connect(args.dsn) as conn:
            for i, voter_id in enumerate(queue):
                if time.perf_counter() >= deadline:
                    break
                started = time.perf_counter()
                receipt = hashlib.sha256(secrets.token_urlsafe(16).encode()).hexdigest()
                entry = args.entries[(n + i) % len(args.entries)]
                params = {
                    "campaign": args.campaign,
                    "voter": voter_id,
                    "ballot": secrets.randbits(63) or 1,
                    "receipt": receipt,
                    "entry": entry,
                }
                await conn.execute(BALLOT_SQL, params)
                latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(args.concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(q: float) -> float | None:
        return latencies[min(len(latencies) - 1, round(q * (len(latencies) - 1)))] if latencies else None

    return {
        "ok": len(latencies),
        "elapsed_s": elapsed,
        "ok_per_s": len(latencies) / elapsed,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "voters_available": len(voter_ids),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--campaign", type=int, required=True)
    parser.add_argument("--entries", type=lambda s: [int(x) for x in s.split(",")], required=True)
    parser.add_argument("--voters", required=True, help="file of voter ids, whitespace-separated")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    json.dump(asyncio.run(main(parser.parse_args())), sys.stdout)
