"""Locking querysets (Saleor's shape): each returns a queryset, locking only its own rows and
ordered by primary key, that the caller evaluates inside ``transaction.atomic()``; an
unevaluated ``select_for_update()`` queryset takes no lock."""

from django.db.models import QuerySet

from .models import Card, CardKind


def cards_for_update() -> QuerySet[Card]:
    return Card.objects.select_for_update(of=("self",)).order_by("pk")


def kinds_for_update() -> QuerySet[CardKind]:
    """Card kinds, locked against another switch or a campaign moving onto them; ``no_key``
    leaves cards free to be inserted and allocated meanwhile."""
    return CardKind.objects.select_for_update(no_key=True).order_by("pk")


def next_available_cards(kind_id: int, valid_from) -> QuerySet[Card]:
    """Available cards of an active kind that stay valid until ``valid_from``, soonest expiry
    first, skipping rows another transaction holds (the index ``card_available_by_expiry`` serves
    it). The one definition of what may be handed out: no path takes a card of a kind that is
    switched off."""
    return (
        Card.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            kind_id=kind_id,
            kind__is_active=True,
            status=Card.Status.AVAILABLE,
            valid_until__gte=valid_from,
        )
        .order_by("valid_until", "id")
    )
