from .models import Card, CardEvent


def record_card_event(
    card: Card,
    action: str,
    *,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    actor=None,
    actor_label: str = "",
) -> CardEvent:
    return CardEvent.objects.create(
        card=card,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        actor=actor,
        actor_label=actor_label,
    )
