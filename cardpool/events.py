"""Every event of a card, one function per kind (``CardEvent.Action``). Called inside the
service's transaction; never from a view, an admin class or a signal. ``save=False`` returns the
event unsaved, for a service that writes many in one statement. Allocation writes its assigned
events in its own statement (``services.allocation.allocate_cards``)."""

from .models import Card, CardEvent, CardKindEvent

Action, Status = CardEvent.Action, Card.Status


def _card_event(card: Card, action: str, *, save: bool = True, **fields) -> CardEvent:
    event = CardEvent(card=card, action=action, **fields)
    if save:
        event.save()
    return event


def card_assigned_event(card: Card, *, actor_label: str) -> CardEvent:
    return _card_event(
        card,
        Action.ASSIGNED,
        from_status=Status.AVAILABLE,
        to_status=Status.ASSIGNED,
        actor_label=actor_label,
    )


def card_voided_event(
    card: Card, *, from_status: str, reason: str, actor=None, actor_label: str = ""
) -> CardEvent:
    return _card_event(
        card,
        Action.VOIDED,
        from_status=from_status,
        to_status=Status.VOID,
        reason=reason,
        actor=actor,
        actor_label=actor_label,
    )


def card_expired_event(card: Card, *, save: bool = True) -> CardEvent:
    return _card_event(
        card,
        Action.EXPIRED,
        from_status=Status.AVAILABLE,
        to_status=Status.EXPIRED,
        actor_label="scheduler",
        save=save,
    )


def card_revealed_event(card: Card, *, actor, reason: str = "") -> CardEvent:
    return _card_event(card, Action.REVEALED, reason=reason, actor=actor)


def card_kind_switched_event(kind, *, action: str, reason: str, actor) -> CardKindEvent:
    return CardKindEvent.objects.create(kind=kind, action=action, reason=reason, actor=actor)
