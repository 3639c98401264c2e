"""Locking querysets of invitations (the shape of ``cardpool.lock_objects``). Evaluate them
inside ``transaction.atomic()``."""

from django.db.models import QuerySet

from .models import Invitation


def invitations_for_update() -> QuerySet[Invitation]:
    return (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("campaign", "inviter")
        .order_by("pk")
    )


def due_invitations_for_update(now, limit: int) -> QuerySet[Invitation]:
    """Pending invitations whose next check is due, the most likely to have opened first (the
    priority of ``invitations.check_policy``), then the longest due, skipping rows other workers
    hold. Served by the partial index ``invitation_due_by_priority``."""
    return (
        Invitation.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=Invitation.Status.PENDING, next_check_at__lte=now)
        .order_by("check_priority", "next_check_at", "id")[:limit]
    )
