"""Locking querysets of rewards. Evaluate them inside ``transaction.atomic()``.

Lock order, everywhere: invitation, then inviter (customer), then grant, then card. The same order
in every path means two transactions never wait on each other in a cycle."""

from django.db.models import QuerySet

from invitations.models import Customer

from .models import Grant


def inviter_for_update(customer_id: int) -> Customer:
    return Customer.objects.select_for_update().get(pk=customer_id)


def grant_for_update(grant_id: int) -> Grant:
    return (
        Grant.objects.select_for_update(of=("self",))
        .select_related("campaign__card_kind")
        .get(pk=grant_id)
    )


def oldest_pending_stock_for_update(kind_id: int) -> QuerySet[Grant]:
    return (
        Grant.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=Grant.Status.PENDING_STOCK, campaign__card_kind_id=kind_id)
        .select_related("campaign__card_kind")
        .order_by("created_at", "id")
    )
