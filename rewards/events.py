from .models import Grant, GrantEvent


def record_grant_event(
    grant: Grant, action: str, *, actor=None, actor_label="", reason="", card=None
) -> GrantEvent:
    return GrantEvent.objects.create(
        grant=grant, action=action, actor=actor, actor_label=actor_label, reason=reason, card=card
    )
