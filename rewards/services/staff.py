"""What staff do to grants, each with a mandatory reason and a recorded event."""

from django.db import transaction
from django.utils import timezone

from cardpool.exceptions import KindSwitchedOff
from cardpool.lock_objects import kinds_for_update
from cardpool.models import Card, CardKind
from cardpool.services import void_card
from core.exceptions import required_reason

from ..events import (
    grant_created_event,
    grant_granted_again_event,
    grant_over_budget_granted_event,
    grant_reissued_event,
    grant_voided_event,
)
from ..exceptions import (
    GrantNotInStatus,
    NotGrantedAgain,
    NotOverBudget,
    PointsOnly,
    SameKind,
)
from ..lock_objects import grants_for_update, invitations_for_reward, inviters_for_update
from ..models import Grant, UnrewardedInvitation
from ..notices import grants_changed
from ..spending import grant_value
from .budgets import ensure_room, lock_budgets
from .granting import grant_locked
from .issuing import create_waiting_grant, issue_waiting_grant
from .ledger import reverse_points


def _void_locked(grant: Grant, reason: str, actor, *, tell: bool = True) -> None:
    """Void a locked grant: its card is voided and its points reversed, once; its customer is
    told (``tell``), unless a replacement follows (they are told of that)."""
    if grant.status == Grant.Status.ISSUED:
        if grant.card_id is not None:  # none: points only
            void_card(
                grant.card,
                reason=f"grant {grant.grant_no} voided: {reason}",
                actor=actor,
                expected=Card.Status.ASSIGNED,
            )
        reverse_points(grant, note=reason)
    grant.status = Grant.Status.VOID
    grant.voided_at = timezone.now()
    grant.void_reason = reason
    grant.save(update_fields=["status", "voided_at", "void_reason"])
    if tell:
        grants_changed([grant])


def _locked_for_staff(grant: Grant, reason: str, *, allowed: set[str]) -> tuple[Grant, str]:
    """The stripped reason (required) and the grant locked, in one of the ``allowed`` statuses.
    Raises ``ReasonRequired`` and ``GrantNotInStatus``."""
    reason = required_reason(reason)
    locked = grants_for_update().get(pk=grant.pk)
    if locked.status not in allowed:
        raise GrantNotInStatus(locked, " or ".join(sorted(allowed)))
    return locked, reason


@transaction.atomic(durable=True)
def void_grant(grant: Grant, *, reason: str, actor) -> Grant:
    """Void a grant (issued, waiting or held). Raises ``ReasonRequired``, ``GrantNotInStatus``."""
    live = set(Grant.Status.values) - {Grant.Status.VOID}
    locked, reason = _locked_for_staff(grant, reason, allowed=live)
    _void_locked(locked, reason, actor)
    grant_voided_event(locked, actor=actor, reason=reason)
    return locked


@transaction.atomic(durable=True)
def reissue_grant(grant: Grant, *, reason: str, actor) -> Grant:
    """Replace an issued grant whose card is unusable: the old grant is voided (card voided,
    points reversed) and a new grant for the same invitation gets a new card and the points again
    (or waits for stock). The old grant links to the new one. Returns the new grant.
    Raises ``ReasonRequired``, ``GrantNotInStatus`` and ``PointsOnly``."""
    old, reason = _locked_for_staff(grant, reason, allowed={Grant.Status.ISSUED})
    if old.card_id is None:
        raise PointsOnly(old)
    _void_locked(old, reason, actor, tell=False)
    return _replace(
        old,
        origin=Grant.Origin.REISSUE,
        event=grant_reissued_event,
        reason=reason,
        created_reason=f"reissue of {old.grant_no}",
        actor=actor,
    )


@transaction.atomic(durable=True)
def replace_in_kind(grant: Grant, *, card_kind: CardKind, reason: str, actor) -> Grant:
    """Staff's explicit choice to pay a reward in another card kind than it was earned in (its
    kind is discontinued, or switched off while the reward waited): the grant, issued or waiting
    for stock, is voided (an issued card voided, its points reversed) and replaced by a grant of
    ``card_kind`` at that kind's face value, with the same points and cap. The reissued event
    records both kinds and the difference in value. Raises ``ReasonRequired``,
    ``GrantNotInStatus``, ``PointsOnly``, ``SameKind`` and ``KindSwitchedOff``."""
    allowed = {Grant.Status.ISSUED, Grant.Status.PENDING_STOCK}
    # the campaign's budget lock before the grant's, as in every path (its campaign never changes)
    lock_budgets([grant.campaign_id])
    old, reason = _locked_for_staff(grant, reason, allowed=allowed)
    if old.card_kind_id is None:
        raise PointsOnly(old)  # its terms are points: no card to pay them in
    if card_kind.pk == old.card_kind_id:
        raise SameKind(old, card_kind)
    # locked after the grant: the kind cannot be switched off before this grant is seen waiting
    kind = kinds_for_update().get(pk=card_kind.pk)
    if not kind.is_active:
        raise KindSwitchedOff(kind.code)
    # a dearer kind spends the difference: it must fit the campaign's budget and today's limit
    ensure_room(old.campaign, kind.face_value - old.face_value, invitation_id=old.invitation_id)
    was = f"{old.card_kind.code} ({old.face_value})"
    note = (
        f"in {kind.code} ({kind.face_value}) instead of {was}, "
        f"{kind.face_value - old.face_value:+} yuan: {reason}"
    )
    _void_locked(old, reason, actor, tell=False)
    return _replace(
        old,
        origin=Grant.Origin.REISSUE,
        event=grant_reissued_event,
        reason=note,
        created_reason=f"reissue of {old.grant_no} {note}",
        actor=actor,
        card_kind=kind,
    )


@transaction.atomic(durable=True)
def reject_hold(grant: Grant, *, reason: str, actor) -> Grant:
    """A reviewer refuses a grant held for review: it is voided (it had no card and credited no
    points, so nothing is reversed). Raises ``ReasonRequired`` and ``GrantNotInStatus``."""
    locked, reason = _locked_for_staff(grant, reason, allowed={Grant.Status.HELD})
    _void_locked(locked, f"rejected after review: {reason}", actor)
    grant_voided_event(locked, actor=actor, reason=locked.void_reason)
    return locked


@transaction.atomic(durable=True)
def grant_again(grant: Grant, *, reason: str, actor) -> Grant:
    """A reviewer undoes a void (their own mistake, or a rejection they now accept): a new grant
    for the same invitation, on the void grant's terms, issued with a card or waiting for one.
    The only way an invitation whose grant was voided or rejected is granted again: the
    automatic paths never do (invariant 14). The void grant links to the new one.

    Refused (``NotGrantedAgain``) when the grant is not the invitation's latest, the invitation
    has a live grant, is no longer qualified, or the inviter has reached the campaign's cap since.
    Raises ``ReasonRequired`` and ``GrantNotInStatus``."""
    # the lock order of every path (lock_objects): invitation, inviter (the cap), then the grant
    invitation = invitations_for_reward().get(pk=grant.invitation_id)
    list(inviters_for_update().filter(pk=invitation.inviter_id))
    lock_budgets([invitation.campaign_id])
    old, reason = _locked_for_staff(grant, reason, allowed={Grant.Status.VOID})
    if old.replaced_by_id is not None:
        raise NotGrantedAgain(old, NotGrantedAgain.REPLACED)
    if Grant.objects.live().filter(invitation_id=old.invitation_id, side=old.side).exists():
        raise NotGrantedAgain(old, NotGrantedAgain.LIVE_GRANT)
    if invitation.status != invitation.Status.QUALIFIED:
        raise NotGrantedAgain(old, NotGrantedAgain.NOT_QUALIFIED)
    # the cap counts the inviter's side (a friend's reward is not the inviter's)
    live = Grant.objects.live().filter(
        inviter_id=old.inviter_id, campaign_id=old.campaign_id, side=Grant.Side.INVITER
    )
    if old.side == Grant.Side.INVITER and live.count() >= old.campaign.max_rewards_per_inviter:
        raise NotGrantedAgain(old, NotGrantedAgain.OVER_CAP)
    # made again on the void grant's terms: it must fit the campaign's budget and today's limit
    value = grant_value(old.face_value, old.points, old.campaign.point_value)
    ensure_room(old.campaign, value, invitation_id=old.invitation_id)
    return _replace(
        old,
        origin=Grant.Origin.GRANTED_AGAIN,
        event=grant_granted_again_event,
        reason=reason,
        created_reason=f"granted again after {old.grant_no}: {reason}",
        actor=actor,
    )


def _replace(
    old: Grant, *, origin: str, event, reason: str, created_reason: str, actor, card_kind=None
) -> Grant:
    """A new grant on ``old``'s terms (in ``card_kind`` if given) for its invitation, made by a
    reviewer: ``old`` (void, locked) links to it and gets ``event``, the new one its created event
    naming the reviewer, then a card now or a wait for one. Runs inside the staff action's
    transaction."""
    new = create_waiting_grant(of=old, origin=origin, card_kind=card_kind)
    old.replaced_by = new
    old.save(update_fields=["replaced_by"])
    event(old, actor=actor, reason=reason, replacement=new)
    grant_created_event(new, actor=actor, reason=created_reason)
    if not issue_waiting_grant(new, actor=actor, actor_label=""):
        grants_changed([new])  # waiting for a card: said now (an issued one was said already)
    return new


@transaction.atomic(durable=True)
def grant_over_budget(record: UnrewardedInvitation, *, reason: str, actor) -> Grant:
    """Staff grant an invitation recorded over its campaign's budget, once the budget was raised:
    the record goes and the grant path runs again, budget check included, so the campaign still
    never overspends; the grant's event names who and why. Refused, and nothing changes, when
    the budget is still short (``StillOverBudget``, saying by how much) or the record is not an
    over-budget one any more (``NotOverBudget``). Raises ``ReasonRequired``."""
    reason = required_reason(reason)
    invitation = invitations_for_reward().get(pk=record.invitation_id)  # the path's lock order
    locked = (
        UnrewardedInvitation.objects.select_for_update()
        .filter(pk=record.pk, reason=UnrewardedInvitation.Reason.OVER_BUDGET)
        .first()
    )
    if locked is None:
        raise NotOverBudget(record.invitation_id)
    locked.delete()
    result = grant_locked([invitation.pk])
    if not result.grants:  # the transaction rolls back: the record stays
        if invitation.pk in result.values:  # still over: raises, saying which limit and by how much
            ensure_room(
                invitation.campaign, result.values[invitation.pk], invitation_id=invitation.pk
            )
        raise NotOverBudget(invitation.pk)  # not qualified any more, or over the cap
    for grant in result.grants:  # the inviter's first, then the friend's
        grant_over_budget_granted_event(grant, actor=actor, reason=reason)
    return result.grants[0]
