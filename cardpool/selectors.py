from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Card, CardCount, CardKind

# A count of the pool (CardCount) older than this is not shown: if the cluster stopped, the
# pages count the pool themselves, slower but never wrong.
CARD_COUNT_MAX_AGE = timedelta(minutes=5)


def allocation_horizon(now: datetime | None = None) -> date:
    """Cards must stay valid at least until this date to be handed out: the local date (the
    brokerage's day, not UTC's) of ``now`` (by default, now) plus ``CARD_MIN_VALIDITY_DAYS``.
    The one definition every count of allocatable stock uses."""
    return timezone.localdate(now) + timedelta(days=settings.CARD_MIN_VALIDITY_DAYS)


def counted_at(now: datetime | None = None) -> datetime | None:
    """When the cluster last counted the pool, if recently enough to show; else None."""
    last = CardCount.objects.aggregate(last=Max("counted_at"))["last"]
    if last is None or last < (now or timezone.now()) - CARD_COUNT_MAX_AGE:
        return None
    return last


def _per_kind(rows: QuerySet, total) -> Coalesce:
    """``total`` over ``rows`` of the outer kind: one correlated subquery, served by an index
    (``card_kind_status``, ``card_available_by_expiry``, or the small count table)."""
    of_kind = rows.filter(kind=OuterRef("pk")).order_by().values("kind")
    return Coalesce(Subquery(of_kind.annotate(total=total).values("total")), 0)


def card_kinds_with_stock(*, counted: bool = False) -> QuerySet[CardKind]:
    """Card kinds annotated with counts per status (``available_count`` ...) and the
    allocatable stock (available and valid for at least ``CARD_MIN_VALIDITY_DAYS``): from the
    cluster's last count when ``counted`` and that count is recent, else from the pool."""
    if counted and counted_at():
        rows, total = CardCount.objects.all(), Sum("cards")
    else:
        rows, total = Card.objects.all(), Count("pk")
    status_counts = {
        f"{status}_count": _per_kind(rows.filter(status=status), total)
        for status in Card.Status.values
    }
    allocatable = rows.filter(status=Card.Status.AVAILABLE, valid_until__gte=allocation_horizon())
    return CardKind.objects.annotate(
        **status_counts, allocatable_count=_per_kind(allocatable, total)
    )
