"""Locks that keep two workers from interleaving one tally or one seal."""

from django.db import connection

from votes.models import Tally


def advisory_key(campaign_id: int, kind: str) -> int:
    # One lock per campaign and kind; a bigint built from the two.
    return campaign_id * 2 + (1 if kind == Tally.Kind.FINAL else 0)


def tally_lock(campaign_id: int, kind: str) -> None:
    """Take the campaign's tally lock until the current transaction ends.

    A transaction-level advisory lock (pg_advisory_xact_lock), never a session one: through
    PgBouncer in transaction mode a session lock would stay on whichever server connection
    took it, after the transaction, and its unlock could reach another. A second worker
    waits, then recomputes the same thing; a dead worker's transaction is rolled back and
    the lock released. Other databases serialise writes anyway.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("tally_lock() is held to the end of a transaction: call it inside transaction.atomic()")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [advisory_key(campaign_id, kind)])
