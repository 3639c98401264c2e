"""Turning a qualified invitation into a grant (the poller's path, one at a time; batches are in
``batches``), and a reviewer releasing a held one.

The incident: a job that fired every two minutes overlapped itself, several threads granted for
the same invitation, and inviters received more cards than they earned. Here every path locks the
invitation row first, returns the existing grant if there is one, and the database refuses a
second live grant per invitation and a second grant per card, so overlap cannot pay twice.
"""

from django.db import transaction
from django.db.models import Count

from core.compiled import CompiledQuery
from invitations.models import Invitation

from ..batch_writes import insert_grants
from ..events import grant_released_event
from ..exceptions import GrantNotInStatus, NotQualified
from ..lock_objects import (
    grants_for_update,
    invitations_for_reward,
    inviters_for_update,
)
from ..models import Grant, UnrewardedInvitation
from ..numbers import next_grant_no
from ..selectors import reward_state
from .issuing import (
    SERVED_AHEAD,
    cards_for_new_grants,
    issue_waiting_grant,
    issue_waiting_grants,
)


def hold_reason(*, campaign_paused: bool, campaign_flagged: bool, inviter_flagged: bool) -> str:
    """Why a new grant must wait for a reviewer, or "" when it may be issued."""
    if campaign_paused:
        return "campaign paused"
    if campaign_flagged:
        return "campaign flagged for review"
    if inviter_flagged:
        return "inviter flagged for review"
    return ""


def terms_of(locked: dict) -> dict:
    """The terms a grant is earned on, from its locked campaign (invariant 17): stored on the
    grant, paid by issue, fulfilment and reissue whatever the campaign says later."""
    return {
        "card_kind_id": locked["campaign__card_kind_id"],
        "face_value": locked["campaign__card_kind__face_value"],
        "points": locked["campaign__points"],
        "cap": locked["campaign__max_rewards_per_inviter"],
    }


def new_grant_status(held_because: str, card_id: int | None) -> str:
    """Held for a reviewer, issued with its card, or waiting for stock."""
    if held_because:
        return Grant.Status.HELD
    return Grant.Status.ISSUED if card_id else Grant.Status.PENDING_STOCK


# What the grant path reads with the invitation's lock: only the columns it uses.
LOCKED_FIELDS = (
    "pk",
    "status",
    "inviter_id",
    "campaign_id",
    "inviter__is_flagged_for_review",
    "campaign__card_kind_id",
    "campaign__card_kind__code",
    "campaign__card_kind__face_value",
    "campaign__points",
    "campaign__max_rewards_per_inviter",
    "campaign__is_paused",
    "campaign__is_flagged_for_review",
)
# The grant path's ORM statements, compiled once per process (core.compiled).
_LOCK_INVITATION = CompiledQuery(
    lambda pk: invitations_for_reward().filter(pk=pk).values_list(*LOCKED_FIELDS), -9_000_000_001
)
_LOCK_INVITER = CompiledQuery(
    lambda pk: inviters_for_update().filter(pk=pk).values_list("pk"), -9_000_000_001
)
_LIVE_GRANTS = CompiledQuery(
    lambda inviter_id, campaign_id: (
        Grant.objects.live()
        .filter(inviter_id=inviter_id, campaign_id=campaign_id)
        .values("inviter_id")
        .annotate(n=Count("pk"))
        .values_list("n")
    ),
    -9_000_000_001,
    -9_000_000_002,
)


@transaction.atomic
def grant_reward(invitation: Invitation) -> Grant | None:
    """Create the grant for a qualified invitation: issued with a card and points, or waiting
    (``pending_stock`` when no card is in stock, ``held`` when the inviter or campaign is flagged
    or the campaign is paused). Returns None, and records why, when the inviter is over the cap.

    Idempotent: calling it again, from another process at the same moment, or after a crash,
    returns the one live grant. Final: after a person voided the grant or rejected the hold, it
    returns that void grant and grants nothing (invariant 14; the database refuses a second
    automatic grant for an invitation). Called by the poller inside the transaction that marks the
    invitation qualified. Raises ``NotQualified``.

    Ten statements, reading only the columns used: lock the invitation (with its campaign's
    and inviter's fields), read its reward state, lock the inviter, count their live grants,
    look for older grants of the kind waiting for stock (then this one waits its turn and the
    oldest is served instead), take a card with its event, a number, then the grant with its
    points and events in one.
    """
    # Lock order: invitation, inviter, card (see lock_objects).
    rows = _LOCK_INVITATION.rows(invitation.pk)
    if not rows:
        raise Invitation.DoesNotExist(f"Invitation #{invitation.pk} does not exist.")
    locked = dict(zip(LOCKED_FIELDS, rows[0], strict=True))
    if locked["status"] != Invitation.Status.QUALIFIED:
        raise NotQualified(Invitation(pk=locked["pk"], status=locked["status"]))
    state = reward_state(locked["pk"])
    if state["grant_id"] is not None:  # live, or void by a person's decision (invariant 14)
        return Grant.objects.get(pk=state["grant_id"])
    if state["is_unrewarded"]:
        return None
    # Invariant 5: lock the inviter so two invitations of theirs cannot both pass the cap check.
    _LOCK_INVITER.rows(locked["inviter_id"])
    [(live_grants,)] = _LIVE_GRANTS.rows(locked["inviter_id"], locked["campaign_id"]) or [(0,)]
    if live_grants >= locked["campaign__max_rewards_per_inviter"]:
        UnrewardedInvitation.objects.create(
            invitation_id=locked["pk"], reason=UnrewardedInvitation.Reason.OVER_CAP
        )
        return None
    held_because = hold_reason(
        campaign_paused=locked["campaign__is_paused"],
        campaign_flagged=locked["campaign__is_flagged_for_review"],
        inviter_flagged=locked["inviter__is_flagged_for_review"],
    )
    card_id, queued = None, False
    kind_id, code = locked["campaign__card_kind_id"], locked["campaign__card_kind__code"]
    if not held_because:
        cards = cards_for_new_grants(kind_id, code, 1)
        queued = cards is None  # older grants of the kind wait: this one takes its turn
        card_id = next(iter(cards or []), None)
    [grant] = insert_grants(
        [
            {
                "grant_no": next_grant_no(),
                "invitation_id": locked["pk"],
                "inviter_id": locked["inviter_id"],
                "campaign_id": locked["campaign_id"],
                "card_id": card_id,
                **terms_of(locked),
                "status": new_grant_status(held_because, card_id),
                "hold_reason": held_because,
            }
        ]
    )
    if queued and grant.pk in issue_waiting_grants(kind_id, code, 1 + SERVED_AHEAD):
        grant.refresh_from_db()  # the queue, oldest first, reached this one too
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
