"""ORM queries compiled once per process and run again with new values, for the grant path.

Django builds and compiles a queryset's SQL on every call: on the grant path that cost several
times the statement's own round trip (``docs/benchmarks.md``, section 1c). A ``CompiledQuery``
keeps the queryset as the one definition of the statement (its filters, its locks, the rules
in its managers) and compiles it the first time it runs, with placeholder values standing for
the parameters that change; later runs send the same SQL with the real values in their places.

Only for querysets whose shape does not depend on the values (no ``__in`` lists: use
``__any``, below, which sends a list as one array parameter; no conditional filters); each
placeholder must land in exactly one parameter, which is checked when the query is compiled.
``template`` wraps the query in a larger statement (``{query}`` marks its place) whose own
parameters follow the query's (``rows(..., after=[...])``).

``CompiledList`` gives one owner's rows to Django's ``Paginator`` through two such statements,
the count and a page: the customer pages (docs/benchmarks.md, section 5b).
"""

from collections import namedtuple
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.models import Field, ForeignObject, Lookup, QuerySet


class AnyOf(Lookup):
    """``field__any=[...]``: ``field = ANY(%s)`` with the list as one array parameter, so the
    statement is the same whatever the list's length (``__in`` writes one ``%s`` per item)."""

    lookup_name = "any"

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, self.rhs]


# Registered for every field and relation (relations keep lookups of their own).
Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)


class CompiledQuery:
    def __init__(self, build: Callable[..., QuerySet], *placeholders: Any, template="{query}"):
        self._build = build
        self._placeholders = placeholders
        self._template = template
        self._sql: str | None = None
        self._params: list = []
        self._slots: list[int] = []
        self.names: list[str] = []  # the columns' names, for a values() queryset

    def rows(self, *values: Any, after: list | tuple = ()) -> list[tuple]:
        """Run the query with ``values`` in the placeholders' places; its rows as tuples.
        A query that locks (``select_for_update``) must run inside a transaction."""
        if self._sql is None:
            self._compile()
        params = list(self._params)
        for slot, value in zip(self._slots, values, strict=True):
            params[slot] = value
        params.extend(after)
        with connection.cursor() as cursor:
            cursor.execute(self._sql, params)
            return cursor.fetchall()

    def _compile(self) -> None:
        query = self._build(*self._placeholders).query
        self.names = [*query.extra_select, *query.values_select, *query.annotation_select]
        sql, params = query.sql_with_params()
        params = list(params)
        slots = []
        for placeholder in self._placeholders:
            found = [index for index, param in enumerate(params) if param == placeholder]
            if len(found) != 1:
                raise ValueError(
                    f"placeholder {placeholder!r} is in {len(found)} parameters of {sql!r}"
                )
            slots.append(found[0])
        self._sql = self._template.format(query=sql)
        self._params, self._slots = params, slots


class CompiledList:
    """The rows of ``build(owner)`` (an ordered ``values()`` queryset) a page at a time, each a
    named tuple of the values' names, and their number, counted on ``count(owner)`` (a lean
    queryset of the same rows). Both statements are compiled once per process; the page's
    LIMIT and OFFSET are parameters. ``of(owner)`` is what Django's ``Paginator`` takes."""

    def __init__(self, build: Callable[[Any], QuerySet], count: Callable[[Any], QuerySet]):
        self._page = CompiledQuery(build, _OWNER, template="{query} LIMIT %s OFFSET %s")
        self._count = CompiledQuery(
            lambda owner: count(owner).order_by().values("pk"),
            _OWNER,
            template="SELECT count(*) FROM ({query}) AS counted",
        )
        self._row: type | None = None

    def count(self, owner) -> int:
        return self._count.rows(owner)[0][0]

    def rows(self, owner, offset: int, limit: int) -> list[tuple]:
        found = self._page.rows(owner, after=[limit, offset])
        if self._row is None:
            self._row = namedtuple("Row", self._page.names)
        return [self._row._make(row) for row in found]

    def of(self, owner) -> "OwnersRows":
        return OwnersRows(self, owner)


class OwnersRows:
    """One owner's rows as Django's ``Paginator`` reads them: ``count()`` and a slice."""

    def __init__(self, rows: CompiledList, owner):
        self._rows, self._owner = rows, owner

    def count(self) -> int:
        return self._rows.count(self._owner)

    def __getitem__(self, window: slice) -> list[tuple]:
        start = window.start or 0
        return self._rows.rows(self._owner, start, window.stop - start)


# An owner's id stands in for the real one while a list's statements are compiled.
_OWNER = -9_000_000_101
