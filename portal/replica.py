"""Public reads from a streaming replica; every write and a resident's own pages from the primary.

With `DATABASE_REPLICA_URL` set, the views decorated with `@reads_from_replica` (results
pages, exports, the ledger, statistics, the catalogue) read from the `replica` alias;
nothing else does, so a resident's receipt, "my votes" and own ideas, sessions and
accounts always come from the primary, which has just written them.

A replica that does not answer is skipped for `DATABASE_REPLICA_RETRY_SECONDS` (per
process) and its reads go to the primary: results stay up while it is down. A replica
that lags shows an older, but consistent, state: PostgreSQL's physical replication
replays whole transactions, and a tally row carries its count and its ledger head
together, so a page never pairs a count with a ledger it is not backed by.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase

logger = logging.getLogger(__name__)

REPLICA = "replica"
PRIMARY = "default"
# Who is logged in and their session are read where they were written.
PRIMARY_ONLY_APPS = frozenset({"sessions", "auth", "accounts", "account", "socialaccount", "authtoken", "contenttypes"})

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)
_skip_until = 0.0  # time.monotonic() until which this process leaves the replica alone


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_mark_down() -> None:
    global _skip_until
    _skip_until = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
    with contextlib.suppress(Exception):
        connections[REPLICA].close()


def replica_usable() -> bool:
    """True when the replica is configured and answers (it is connected to here, if needed)."""
    if not replica_configured() or time.monotonic() < _skip_until:
        return False
    try:
        connections[REPLICA].ensure_connection()
    except (OperationalError, InterfaceError):
        logger.warning(
            "replica unavailable: its reads go to the primary for %ss", settings.DATABASE_REPLICA_RETRY_SECONDS
        )
        replica_mark_down()
        return False
    return True


def read_alias() -> str:
    """The alias the current reads go to."""
    return REPLICA if _replica_reads.get() else PRIMARY


@contextlib.contextmanager
def replica_reads(enabled: bool = True) -> Iterator[str]:
    """Route the reads inside to the replica when it is usable; yields the alias used."""
    token = _replica_reads.set(enabled and replica_usable())
    try:
        yield read_alias()
    finally:
        _replica_reads.reset(token)


def _streamed(chunks: Iterable, use_replica: bool) -> Iterator:
    # A streaming response is produced after the view has returned: each chunk is read
    # under the view's choice of database.
    iterator = iter(chunks)
    while True:
        token = _replica_reads.set(use_replica)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            _replica_reads.reset(token)
        yield chunk


def reads_from_replica(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Serve a read-only public view from the replica, or from the primary when the
    replica fails (the view is run again there: it only reads)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if not replica_configured() or request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        with replica_reads() as alias:
            if alias != REPLICA:
                return view(request, *args, **kwargs)
            response: HttpResponseBase | None
            try:
                response = view(request, *args, **kwargs)
            except (OperationalError, InterfaceError):
                logger.warning("replica failed during %s: read again from the primary", request.path, exc_info=True)
                replica_mark_down()
                response = None
        if response is None:
            return view(request, *args, **kwargs)
        # The portal's streamed views are synchronous (an async iterator would be another
        # context, which the wrapper could not follow).
        if isinstance(response, StreamingHttpResponse) and isinstance(response.streaming_content, Iterator):
            response.streaming_content = _streamed(response.streaming_content, use_replica=True)
        return response

    return wrapped


def replica_has_replayed(lsn: str) -> bool:
    """True when the replica has replayed the primary's WAL up to `lsn`."""
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, true)", [lsn])
        return bool(cursor.fetchone()[0])


def primary_wal_position() -> str | None:
    """The primary's current WAL position (None without a replica or off PostgreSQL)."""
    if not replica_configured():
        return None
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def replica_lag() -> dict:
    """The replica's state for /health/ready/: replay lag in seconds and whether replay is paused."""
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(
            "SELECT pg_is_in_recovery(), pg_is_wal_replay_paused(),"
            " extract(epoch FROM now() - pg_last_xact_replay_timestamp()),"
            " pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()"
        )
        in_recovery, paused, seconds, caught_up = cursor.fetchone()
    return {
        "in_recovery": bool(in_recovery),
        "replay_paused": bool(paused),
        # Seconds since the last replayed transaction: grows on an idle primary too, so
        # it is only lag when the replica has WAL left to replay.
        "last_replay_seconds": round(float(seconds), 1) if seconds is not None else None,
        "caught_up": bool(caught_up),
    }


class ReplicaRouter:
    """Reads go where `replica_reads` says; writes, migrations and accounts to the primary."""

    def db_for_read(self, model, **hints) -> str:
        if model._meta.app_label in PRIMARY_ONLY_APPS:
            return PRIMARY
        return read_alias()

    def db_for_write(self, model, **hints) -> str:
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # one database, two copies of it

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == PRIMARY
