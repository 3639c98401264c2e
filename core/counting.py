"""Figures for staff over tables of millions: counts that stop early."""


def bounded_count(queryset, limit: int = 10_000) -> int:
    """How many rows, counting at most ``limit + 1``: a figure that stays cheap on a table of
    millions (shown as "10,000+" past the limit, or estimated: ``core.paginators``)."""
    return queryset.order_by().values("pk")[: limit + 1].count()
