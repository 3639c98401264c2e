"""Every event of a card, one function per kind (``CardEvent.Action``). Called inside the
service's transaction; never from a view, an admin class or a signal. ``save=False`` returns the
event unsaved, for a service that writes many in one statement. Allocation writes its assigned
events in its own statement (``services.allocation.allocate_cards``)."""

from core.actors import SystemActor

from .models import Card, CardEvent, CardKindEvent

Action, Status = CardEvent.Action, Card.Status
_card_event = CardEvent.record


def card_voided_event(
    card: Card, *, from_status: str, reason: str, actor=None, actor_label: str = ""
) -> CardEvent:
    return _card_event(
        Action.VOIDED,
        card=card,
        from_status=from_status,
        to_status=Status.VOID,
        reason=reason,
        actor=actor,
        actor_label=actor_label,
    )


def card_expired_event(card: Card, *, save: bool = True) -> CardEvent:
    return _card_event(
        Action.EXPIRED,
        card=card,
        from_status=Status.AVAILABLE,
        to_status=Status.EXPIRED,
        actor_label=SystemActor.SCHEDULER,
        save=save,
    )


def card_revealed_event(card: Card, *, actor, reason: str = "") -> CardEvent:
    return _card_event(Action.REVEALED, card=card, reason=reason, actor=actor)


def card_kind_switched_event(kind, *, action: str, reason: str, actor) -> CardKindEvent:
    return CardKindEvent.record(action, kind=kind, reason=reason, actor=actor)
