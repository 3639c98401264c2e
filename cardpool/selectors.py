from django.db.models import Count, Q, QuerySet

from .models import Card, CardKind
from .services.allocation import allocation_horizon


def card_kinds_with_stock() -> QuerySet[CardKind]:
    """Card kinds annotated with counts per status and the allocatable stock."""
    status_counts = {
        f"{status}_count": Count("cards", filter=Q(cards__status=status))
        for status in Card.Status.values
    }
    return CardKind.objects.annotate(
        **status_counts,
        allocatable_count=Count(
            "cards",
            filter=Q(
                cards__status=Card.Status.AVAILABLE, cards__valid_until__gte=allocation_horizon()
            ),
        ),
    )


def low_stock_kinds() -> list[CardKind]:
    return [
        kind
        for kind in card_kinds_with_stock().filter(is_active=True)
        if kind.allocatable_count < kind.low_stock_threshold
    ]
