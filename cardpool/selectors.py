from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Card, CardKind


def allocation_horizon(now: datetime | None = None) -> date:
    """Cards must stay valid at least until this date to be handed out: the local date (the
    brokerage's day, not UTC's) of ``now`` (by default, now) plus ``CARD_MIN_VALIDITY_DAYS``.
    The one definition every count of allocatable stock uses."""
    return timezone.localdate(now) + timedelta(days=settings.CARD_MIN_VALIDITY_DAYS)


def _card_count(**filters):
    """Cards of the outer kind matching ``filters``: one correlated count, served by an index
    (``card_kind_status``, or ``card_available_by_expiry`` for the allocatable stock) instead of
    joining and aggregating every card."""
    cards = (
        Card.objects.filter(kind=OuterRef("pk"), **filters)
        .order_by()
        .values("kind")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(cards), 0)


def card_kinds_with_stock() -> QuerySet[CardKind]:
    """Card kinds annotated with counts per status (``available_count`` ...) and the
    allocatable stock (available and valid for at least ``CARD_MIN_VALIDITY_DAYS``)."""
    status_counts = {f"{status}_count": _card_count(status=status) for status in Card.Status.values}
    return CardKind.objects.annotate(
        **status_counts,
        allocatable_count=_card_count(
            status=Card.Status.AVAILABLE, valid_until__gte=allocation_horizon()
        ),
    )
