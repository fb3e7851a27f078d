"""Enqueue Celery tasks after commit without letting a broker outage undo a success.

The database is the source of truth: when Redis (the broker) is down, a committed
ballot, close or decision must still answer as a success. The message is logged as
lost: live tallies are recomputed on the next beat interval anyway, and a final tally
that never ran shows as missing in the admin, where an official recounts it (or
`manage.py tally CAMPAIGN --final`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def task_send(task: Any, *args: Any) -> bool:
    """`task.delay(*args)`, or False (logged) when the broker cannot take it."""
    try:
        task.delay(*args)
    except Exception as error:  # kombu and redis raise several unrelated types; none may reach the user
        # One line per lost task, no traceback: during an outage each would be the same.
        logger.error(
            "could not enqueue %s%r: broker unavailable (%s: %s)", task.name, args, type(error).__name__, error
        )
        return False
    return True


def task_send_on_commit(task: Any, *args: Any) -> None:
    """Enqueue `task(*args)` once the current transaction commits (never if it rolls back)."""
    transaction.on_commit(lambda: task_send(task, *args))
