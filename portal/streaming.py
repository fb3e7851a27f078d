"""Server-side cursors that work directly and through PgBouncer in transaction mode.

Django declares a server-side cursor `WITH HOLD` when it is opened outside a transaction,
and fetches from it in later statements: through PgBouncer those may reach another server
connection, where the cursor does not exist. Inside a transaction the cursor lives and
dies with it, on one server connection, so every `QuerySet.iterator()` and
`chunked_cursor()` of the portal runs inside `streaming_transaction()`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connections, transaction

from portal.replica import read_alias


@contextlib.contextmanager
def streaming_transaction(using: str | None = None) -> Iterator[str]:
    """A transaction on the database the current reads go to (or `using`); yields its alias."""
    alias = using or read_alias()
    with transaction.atomic(using=alias):
        connection = connections[alias]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Read to the end, so planned for all rows, not the first 10 % (settings.py).
                cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        yield alias
