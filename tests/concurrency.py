"""Two transactions racing on PostgreSQL, in a fixed order.

`race(first, second)` runs `first()` in a thread inside a transaction and keeps that
transaction open; then runs `second()` in another thread and waits until it has either
finished or is waiting for a row lock held by the first; then commits the first and
waits for the second. Each thread has its own database connection, so the two really
meet in the server, and the order is the one a test names (no sleeps, no luck).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

DEADLINE = 30.0  # seconds: a race that takes longer is a hang, and fails


@dataclass
class Race:
    first: Any  # what first() returned, or the exception it raised
    second: Any
    second_waited: bool  # the second was blocked on a lock held by the first


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _waits_for_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def race(first: Callable[[], Any], second: Callable[[], Any], *, rollback_first: bool = False) -> Race:
    """`first()` inside an open transaction, then `second()` against it; see the module."""
    results: dict[str, Any] = {}
    first_done, release, second_started = threading.Event(), threading.Event(), threading.Event()
    second_pid: list[int] = []

    class Rollback(Exception):
        pass

    def run_first() -> None:
        try:
            with transaction.atomic():
                try:
                    results["first"] = first()
                except Exception as error:
                    results["first"] = error
                first_done.set()
                release.wait(DEADLINE)
                if rollback_first:
                    raise Rollback
        except Rollback:
            pass
        finally:
            first_done.set()
            connection.close()

    def run_second() -> None:
        try:
            second_pid.append(_backend_pid())
            second_started.set()
            results["second"] = second()
        except Exception as error:
            results["second"] = error
        finally:
            second_started.set()
            connection.close()

    a = threading.Thread(target=run_first)
    a.start()
    assert first_done.wait(DEADLINE), "the first transaction did not get going"
    b = threading.Thread(target=run_second)
    b.start()
    assert second_started.wait(DEADLINE)
    waited = False
    deadline = time.monotonic() + DEADLINE
    while b.is_alive() and time.monotonic() < deadline:
        if second_pid and _waits_for_lock(second_pid[0]):
            waited = True
            break
        time.sleep(0.02)
    release.set()
    a.join(DEADLINE)
    b.join(DEADLINE)
    assert not a.is_alive(), "a racing transaction hung"
    assert not b.is_alive(), "a racing transaction hung"
    return Race(first=results.get("first"), second=results.get("second"), second_waited=waited)
