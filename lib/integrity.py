"""Which database constraint an IntegrityError is about.

Services check in Python to give friendly errors, and the database constraint has the
last word when two requests race past the check: the service then maps the error of
*that* constraint to the same friendly answer, and lets any other one through.
"""

from __future__ import annotations

import re

from django.db import IntegrityError


def violated_constraint(error: IntegrityError) -> str:
    """The constraint's name on PostgreSQL; on SQLite, which names the columns of a plain
    unique constraint, 'table.column[, ...]' (an expression index by its name)."""
    name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
    if name:
        return str(name)
    text = str(error)
    index = re.search(r"UNIQUE constraint failed: index '([^']+)'", text)  # an expression index
    if index:
        return index.group(1)
    columns = re.search(r"UNIQUE constraint failed: (.+)$", text)
    return columns.group(1).strip() if columns else ""
