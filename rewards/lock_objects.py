"""Locking querysets of rewards (the shape of ``cardpool.lock_objects``). Evaluate them inside
``transaction.atomic()``.

Lock order, everywhere: invitation, then inviter (customer), then grant, then card. The same order
in every path means two transactions never wait on each other in a cycle. What is read after the
locks (``rewards.selectors.reward_state``) is a statement of its own; its docstring says why
folding it into the locking statement looks safe and is not."""

from django.db.models import QuerySet

from invitations.models import Customer, Invitation

from .models import Grant


def invitations_for_reward() -> QuerySet[Invitation]:
    """Invitations, locked, with their campaign, card kind and inviter."""
    return (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("campaign__card_kind", "inviter")
        .order_by("pk")
    )


def inviters_for_update() -> QuerySet[Customer]:
    """``FOR NO KEY UPDATE``: two lockers of one inviter wait for each other (the cap, the
    ladder's places), while a grant paying that customer as somebody's friend (its foreign key
    takes a key-share lock) does not wait for them: no cycle between two batches whose inviters
    are each other's friends."""
    return Customer.objects.select_for_update(no_key=True, of=("self",)).order_by("pk")


def grants_for_update() -> QuerySet[Grant]:
    return (
        Grant.objects.select_for_update(of=("self",))
        .select_related("campaign", "card_kind")
        .order_by("pk")
    )


def oldest_pending_stock_for_update(kind_id: int) -> QuerySet[Grant]:
    return (
        Grant.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=Grant.Status.PENDING_STOCK, card_kind_id=kind_id)
        .select_related("card_kind")
        .order_by("created_at", "id")
    )
