"""Which database constraint an IntegrityError is about.

Services check in Python to give friendly errors, and the database constraint has the
last word when two requests race past the check: the service then maps the error of
*that* constraint to the same friendly answer, and lets any other one through.
"""

from __future__ import annotations

import re

from django.db import IntegrityError


def violated_constraint(error: IntegrityError) -> str:
    """The constraint's name on PostgreSQL; on SQLite, which names columns, 'table.column[, ...]'."""
    name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
    if name:
        return name
    match = re.search(r"UNIQUE constraint failed: (.+)$", str(error))
    return match.group(1).strip() if match else ""
