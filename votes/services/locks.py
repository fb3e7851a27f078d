"""Locks that keep two workers from interleaving one tally or one seal."""

from django.db import connection

from votes.models import Tally


def advisory_key(campaign_id: int, kind: str) -> int:
    # One lock per campaign and kind; a bigint built from the two.
    return campaign_id * 2 + (1 if kind == Tally.Kind.FINAL else 0)


class TallyLock:
    """A PostgreSQL session advisory lock, so two workers never interleave one tally.

    The second worker waits, then recomputes the same thing. A dead worker's connection
    closes and PostgreSQL releases its lock. Other databases serialise writes anyway.
    """

    def __init__(self, campaign_id: int, kind: str) -> None:
        self.key = advisory_key(campaign_id, kind)
        self.active = connection.vendor == "postgresql"

    def __enter__(self) -> None:
        if self.active:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [self.key])

    def __exit__(self, *exc) -> None:
        if self.active:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [self.key])
