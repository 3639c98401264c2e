"""Locking querysets of invitations. Evaluate them inside ``transaction.atomic()``."""

from django.db.models import QuerySet

from .models import Invitation


def invitation_for_update(invitation_id: int) -> Invitation:
    return (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("campaign", "inviter")
        .get(pk=invitation_id)
    )


def due_invitations_for_update(now, limit: int) -> QuerySet[Invitation]:
    """Pending invitations whose next check is due, oldest first, skipping rows other workers
    hold. Served by the partial index ``invitation_due``."""
    return (
        Invitation.objects.select_for_update(skip_locked=True)
        .filter(status=Invitation.Status.PENDING, next_check_at__lte=now)
        .order_by("next_check_at", "id")[:limit]
    )
