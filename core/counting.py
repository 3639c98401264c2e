"""Figures for staff over tables of millions: counts that stop early, read with plans made for
their values.

The project's connections prepare a statement after a few runs, and PostgreSQL may then plan it
once for any value ("generic plan"). A count such as "pending invitations due now" is served by
a partial index (``WHERE status = 'pending'``) that a plan made for any status cannot use: the
review desk's count of due invitations went from 1 ms to 87 ms on the 11th page a connection
served (1,000,000 invitations), a sequential scan each time. ``custom_plans()`` makes the
figures of one page planned for their own values, for the length of a transaction."""

from contextlib import contextmanager

from django.db import connection, transaction


def bounded_count(queryset, limit: int = 10_000) -> int:
    """How many rows, counting at most ``limit + 1``: a figure that stays cheap on a table of
    millions (shown as "10,000+" past the limit, or estimated: ``core.paginators``)."""
    return queryset.order_by().values("pk")[: limit + 1].count()


@contextmanager
def custom_plans():
    """A transaction whose statements are planned for their own values, prepared or not."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield
