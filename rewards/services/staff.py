"""What staff do to grants, each with a mandatory reason and a recorded event."""

from django.db import transaction
from django.utils import timezone

from cardpool.exceptions import required_reason
from cardpool.models import Card
from cardpool.services import void_card

from ..events import grant_created_event, grant_reissued_event, grant_voided_event
from ..exceptions import GrantNotInStatus
from ..lock_objects import grants_for_update
from ..models import Grant
from .issuing import create_waiting_grant, issue_waiting_grant
from .ledger import reverse_points


def _void_locked(grant: Grant, reason: str, actor) -> None:
    """Void a locked grant: its card is voided and its points reversed, once."""
    if grant.status == Grant.Status.ISSUED:
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
    Raises ``ReasonRequired`` and ``GrantNotInStatus``."""
    old, reason = _locked_for_staff(grant, reason, allowed={Grant.Status.ISSUED})
    _void_locked(old, reason, actor)
    new = create_waiting_grant(
        invitation_id=old.invitation_id,
        inviter_id=old.inviter_id,
        campaign=old.campaign,
        points=old.points,
    )
    old.replaced_by = new
    old.save(update_fields=["replaced_by"])
    grant_reissued_event(old, actor=actor, reason=reason, replacement=new)
    grant_created_event(new, actor=actor, reason=f"reissue of {old.grant_no}")
    issue_waiting_grant(new, actor=actor, actor_label="")
    return new


@transaction.atomic(durable=True)
def reject_hold(grant: Grant, *, reason: str, actor) -> Grant:
    """A reviewer refuses a grant held for review: it is voided (it had no card and credited no
    points, so nothing is reversed). Raises ``ReasonRequired`` and ``GrantNotInStatus``."""
    locked, reason = _locked_for_staff(grant, reason, allowed={Grant.Status.HELD})
    _void_locked(locked, f"rejected after review: {reason}", actor)
    grant_voided_event(locked, actor=actor, reason=locked.void_reason)
    return locked
