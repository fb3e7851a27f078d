"""Case folding for text search on SQLite, whose LIKE and lower() know only ASCII letters.

On SQLite a `casefold` SQL function backed by Python's `str.casefold` is registered on
every new connection; on PostgreSQL `Casefold` compiles to `lower()`, which is Unicode-aware.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.signals import connection_created
from django.db.models import CharField, Func
from django.dispatch import receiver


class Casefold(Func):
    function = "lower"
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, function="casefold", **extra_context)


def _casefold(text: str | None) -> str | None:
    return text.casefold() if text is not None else None


@receiver(connection_created)
def register_casefold(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("casefold", 1, _casefold, deterministic=True)
