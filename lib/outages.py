"""Warnings about a service that is down, at most one a minute per kind and process.

During an outage every request meets the same failure; a traceback per request (1,682
in 30 s with Redis stopped, in the outside review) buries everything else in the log.
"""

from __future__ import annotations

import logging
import threading
import time

WARNING_INTERVAL = 60.0  # seconds

_last_warned: dict[str, float] = {}
_lock = threading.Lock()


def warn_once_a_minute(logger: logging.Logger, kind: str, message: str, *args: object) -> bool:
    """Log `message` as a warning unless one of this `kind` was logged in the last minute."""
    now = time.monotonic()
    with _lock:
        last = _last_warned.get(kind)
        if last is not None and now - last < WARNING_INTERVAL:
            return False
        _last_warned[kind] = now
    logger.warning(message, *args)
    return True


def warnings_reset() -> None:
    """Forget when each kind was last logged (tests)."""
    with _lock:
        _last_warned.clear()
