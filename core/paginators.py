"""Staff lists over tables of millions: counted exactly while the count is small, estimated by
PostgreSQL's planner past that, and paged only as deep as an index reads cheaply.

An exact ``COUNT(*)`` over a million cards or invitations reads the whole table (35-45 ms here,
more as the tables grow) on every page a member of staff opens, for a figure nobody acts on
("1,000,000 cards" or "about 1,000,000 cards" leads to the same next click: a filter or a
search). Large Django sites estimate it the same way; the figures a person acts on (open
critical anomalies, held grants) are small and stay exact.
"""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

from core.counting import bounded_count


class LargeTablePaginator(Paginator):
    """Exact count up to ``exact_up_to`` rows (a count that stops there: an index range at
    most that long), the planner's estimate past it (``estimated`` is then true and the list
    says "about"); pages only through the first ``exact_up_to`` rows, so no page is an
    ``OFFSET`` deeper than that. Past them staff narrow the list with its filters or search."""

    exact_up_to = 10_000

    @cached_property
    def count(self) -> int:
        counted = bounded_count(self.object_list, self.exact_up_to)
        if counted <= self.exact_up_to:
            return counted
        return max(counted, _planner_estimate(self.object_list))

    @property
    def estimated(self) -> bool:
        return self.count > self.exact_up_to

    @cached_property
    def num_pages(self) -> int:
        pages = super().num_pages
        if self.estimated:
            return min(pages, -(-self.exact_up_to // self.per_page))
        return pages


def _planner_estimate(queryset) -> int:
    """The rows PostgreSQL expects ``queryset`` to return, from its statistics (no row read)."""
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
