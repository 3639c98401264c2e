"""Turning a qualified invitation into a grant (the poller's path, one at a time; batches are in
``batches``), and a reviewer releasing a held one.

The incident: a job that fired every two minutes overlapped itself, several threads granted for
the same invitation, and inviters received more cards than they earned. Here every path locks the
invitation row first, returns the existing grant if there is one, and the database refuses a
second live grant per invitation and a second grant per card, so overlap cannot pay twice.
"""

from django.db import transaction

from invitations.models import Invitation

from ..events import (
    grant_created_event,
    grant_held_event,
    grant_issued_event,
    grant_released_event,
)
from ..exceptions import GrantNotInStatus, NotQualified
from ..lock_objects import (
    grants_for_update,
    invitations_for_reward,
    inviters_for_update,
)
from ..models import Grant, GrantEvent, UnrewardedInvitation
from ..selectors import reward_state
from .issuing import ACTOR, card_or_none, create_grant, issue_waiting_grant


def hold_reason(campaign, *, inviter_flagged: bool) -> str:
    """Why a new grant must wait for a reviewer, or "" when it may be issued."""
    if campaign.is_paused:
        return "campaign paused"
    if campaign.is_flagged_for_review:
        return "campaign flagged for review"
    if inviter_flagged:
        return "inviter flagged for review"
    return ""


@transaction.atomic
def grant_reward(invitation: Invitation) -> Grant | None:
    """Create the grant for a qualified invitation: issued with a card and points, or waiting
    (``pending_stock`` when no card is in stock, ``held`` when the inviter or campaign is flagged
    or the campaign is paused). Returns None, and records why, when the inviter is over the cap.

    Idempotent: calling it again, from another process at the same moment, or after a crash,
    returns the one live grant. Called by the poller inside the transaction that marks the
    invitation qualified. Raises ``NotQualified``.
    """
    # Lock order: invitation, inviter, card (see lock_objects). The grant is created once its
    # card is known, so the common path is one INSERT, not an INSERT then an UPDATE.
    locked = invitations_for_reward().get(pk=invitation.pk)
    if locked.status != Invitation.Status.QUALIFIED:
        raise NotQualified(locked)
    state = reward_state(locked.pk)
    if state["live_grant_id"] is not None:
        return Grant.objects.get(pk=state["live_grant_id"])
    if state["is_unrewarded"]:
        return None
    # Invariant 5: lock the inviter so two invitations of theirs cannot both pass the cap check.
    list(inviters_for_update().filter(pk=locked.inviter_id).values_list("pk"))
    campaign = locked.campaign
    live_grants = (
        Grant.objects.live().filter(inviter_id=locked.inviter_id, campaign=campaign).count()
    )
    if live_grants >= campaign.max_rewards_per_inviter:
        UnrewardedInvitation.objects.create(
            invitation=locked, reason=UnrewardedInvitation.Reason.OVER_CAP
        )
        return None
    held_because = hold_reason(campaign, inviter_flagged=locked.inviter.is_flagged_for_review)
    card = None if held_because else card_or_none(campaign.card_kind)
    if held_because:
        status = Grant.Status.HELD
    else:
        status = Grant.Status.ISSUED if card else Grant.Status.PENDING_STOCK
    grant = create_grant(
        invitation_id=locked.pk,
        inviter_id=locked.inviter_id,
        campaign=campaign,
        points=campaign.points,
        status=status,
        hold_reason=held_because,
        card=card,
    )
    events = [grant_created_event(grant, actor_label=ACTOR, save=False)]
    if held_because:
        events.append(grant_held_event(grant, reason=held_because, actor_label=ACTOR, save=False))
    if card:
        events.append(grant_issued_event(grant, card=card, actor_label=ACTOR, save=False))
    GrantEvent.objects.bulk_create(events)
    return grant


@transaction.atomic(durable=True)
def release_hold(grant: Grant, *, actor, reason: str = "") -> Grant:
    """A reviewer lets a held grant go on: issued now, or pending_stock. Raises
    ``GrantNotInStatus``."""
    locked = grants_for_update().get(pk=grant.pk)
    if locked.status != Grant.Status.HELD:
        raise GrantNotInStatus(locked, Grant.Status.HELD)
    grant_released_event(locked, actor=actor, reason=reason)
    locked.status = Grant.Status.PENDING_STOCK
    locked.hold_reason = ""
    locked.save(update_fields=["status", "hold_reason"])
    issue_waiting_grant(locked, actor=actor, actor_label="")
    return locked
