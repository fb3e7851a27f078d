"""A QuerySet's SQL compiled once per process, for the few reads of the casting path.

Building and compiling a QuerySet (filters, joins of select_related, the SQL text) costs
more CPU than PostgreSQL spends answering a primary-key lookup. `Prepared(Model, build)` calls
`build(*args)` once per shape of arguments, with stand-in values, keeps the SQL and where
each argument goes in its parameters, and then runs that SQL with the real values and
builds the same model instances (select_related included) as the QuerySet would, by the
same code as Django's ModelIterable. The database router is asked on every call.

Only for plain filters whose arguments reach the SQL parameters unchanged (primary keys,
strings); a list argument gets one plan per length (`pk__in`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db import connections, models, router
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=models.Model)

_INT_STAND_IN = -7_340_000_000_000  # far from any real primary key
_STR_STAND_IN = "\x1fprepared-stand-in-"


def _stand_in(value: object, n: int) -> object:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"Prepared queries take ints and strings, not {type(value).__name__}")
    return _INT_STAND_IN - n if isinstance(value, int) else f"{_STR_STAND_IN}{n}"


class _Plan:
    def __init__(self, queryset: models.QuerySet, db: str, stand_ins: dict[object, tuple[int, int | None]]) -> None:
        compiler = queryset.query.get_compiler(using=db)
        sql, params = compiler.as_sql()
        self.sql = sql
        # Each parameter: ("arg", argument index, list index or None) or ("const", value).
        self.params: list[tuple[str, Any, Any]] = [
            ("arg", *stand_ins[p]) if isinstance(p, int | str) and p in stand_ins else ("const", p, None)
            for p in params
        ]
        found = {(a, b) for kind, a, b in self.params if kind == "arg"}
        if len(found) != len(stand_ins):
            raise ValueError("an argument of the prepared query does not reach its SQL unchanged")
        self.compiler = compiler
        klass_info = compiler.klass_info
        assert klass_info is not None  # noqa: S101  (a model query)
        select = compiler.select
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.model = klass_info["model"]
        self.start, self.end = start, end
        self.init_list = [column[0].target.attname for column in select[start:end]]
        self.populators = get_related_populators(klass_info, select, db)  # type: ignore[call-arg]  # stubs of 6.0
        self.converters = compiler.get_converters([column[0] for column in select])


class Prepared(Generic[M]):
    def __init__(self, model: type[M], build: Callable[..., models.QuerySet[M]]) -> None:
        self.model = model
        self.build = build
        # Two threads may build the same plan at once: both are the same, and a dict
        # assignment is atomic, so no lock is needed.
        self._plans: dict[tuple, _Plan] = {}

    def _plan(self, db: str, args: tuple) -> _Plan:
        shape = (db, *(len(a) if isinstance(a, list | tuple) else type(a) for a in args))
        plan = self._plans.get(shape)
        if plan is None:
            stand_ins: dict[object, tuple[int, int | None]] = {}
            sample: list[object] = []
            n = 0
            for i, arg in enumerate(args):
                if isinstance(arg, list | tuple):
                    values = []
                    for j, item in enumerate(arg):
                        stand_in = _stand_in(item, n := n + 1)
                        stand_ins[stand_in] = (i, j)
                        values.append(stand_in)
                    sample.append(values)
                else:
                    stand_in = _stand_in(arg, n := n + 1)
                    stand_ins[stand_in] = (i, None)
                    sample.append(stand_in)
            plan = self._plans[shape] = _Plan(self.build(*sample).using(db), db, stand_ins)
        return plan

    def all(self, *args: Any) -> list[M]:
        db = router.db_for_read(self.model)
        plan = self._plan(db, args)
        params = [(args[a] if b is None else args[a][b]) if kind == "arg" else a for kind, a, b in plan.params]
        with connections[db].cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows: Any = cursor.fetchall()
        if plan.converters:
            rows = plan.compiler.apply_converters(rows, plan.converters)
        found = []
        for row in rows:
            obj = plan.model.from_db(db, plan.init_list, row[plan.start : plan.end])
            for populator in plan.populators:
                populator.populate(row, obj)
            found.append(obj)
        return found

    def first(self, *args: Any) -> M | None:
        found = self.all(*args)
        return found[0] if found else None
