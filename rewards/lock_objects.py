"""Locking querysets of rewards. Evaluate them inside ``transaction.atomic()``.

Lock order, everywhere: invitation, then inviter (customer), then grant, then card. The same order
in every path means two transactions never wait on each other in a cycle."""

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from invitations.models import Customer, Invitation

from .models import Grant, UnrewardedInvitation


def invitation_for_reward(invitation_id: int) -> Invitation:
    """The invitation, locked, with its campaign, card kind and inviter."""
    return (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("campaign__card_kind", "inviter")
        .get(pk=invitation_id)
    )


def reward_state(invitation_id: int) -> dict:
    """``live_grant_id`` (the invitation's grant that is not void, if any) and ``is_unrewarded``,
    in one statement.

    Must run as its own statement *after* the invitation is locked. Folding it into the locking
    statement looks cheaper but is wrong under READ COMMITTED: when FOR UPDATE waits for another
    transaction, PostgreSQL re-checks the locked row but not the subqueries, which keep the
    statement's old snapshot and miss the grant the other transaction just committed (the chaos
    test caught exactly that; the unique constraint refused the second grant)."""
    live_grant = Grant.objects.filter(invitation=OuterRef("pk")).exclude(status=Grant.Status.VOID)
    return (
        Invitation.objects.filter(pk=invitation_id)
        .annotate(
            live_grant_id=Subquery(live_grant.values("pk")[:1]),
            is_unrewarded=Exists(UnrewardedInvitation.objects.filter(invitation=OuterRef("pk"))),
        )
        .values("live_grant_id", "is_unrewarded")
        .get()
    )


def lock_inviter(customer_id: int) -> None:
    list(Customer.objects.select_for_update().filter(pk=customer_id).values_list("pk"))


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
