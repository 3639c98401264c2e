"""Cards for grants and waiting grants given their card: take_cards (both grant paths; the
stock-out anomaly when short), issue_waiting_grant (a reviewer's release, the fallback of a failed
fulfilment batch) and create_waiting_grant (a staff reissue's replacement, whose events name the
reviewer). New grants of the grant paths are written by ``rewards.batch_writes``."""

from django.utils import timezone

from cardpool.services import allocate_cards

from ..anomalies.rules import out_of_stock_finding
from ..batch_writes import ACTOR
from ..events import grant_issued_event
from ..models import Grant
from ..numbers import next_grant_no
from .anomalies import record_finding
from .ledger import credit_points


def take_cards(kind_id: int, code: str, count: int) -> list[int]:
    """Up to ``count`` cards of a kind allocated in the caller's transaction, soonest expiry
    first, in one statement; when the stock runs short, fewer, and an out-of-stock anomaly."""
    card_ids = allocate_cards(kind_id, count, actor_label=ACTOR)
    if len(card_ids) < count:
        record_finding(out_of_stock_finding(kind_id, code))
    return card_ids


def create_waiting_grant(*, of: Grant, origin: str, card_kind=None):
    """A grant that waits for its card (``issue_waiting_grant`` gives it one), numbered from the
    sequence, for the same invitation and on the same terms as ``of`` (invariant 17): a staff
    reissue's replacement, or a grant staff make again after a void. Only a reviewer's explicit
    choice (``staff.replace_in_kind``) gives another ``card_kind``, at its face value. The grant
    paths write theirs with ``rewards.batch_writes``."""
    kind = card_kind or of.card_kind
    return Grant.objects.create(
        origin=origin,
        grant_no=next_grant_no(),
        invitation_id=of.invitation_id,
        inviter_id=of.inviter_id,
        campaign_id=of.campaign_id,
        card_kind=kind,
        face_value=kind.face_value if card_kind else of.face_value,
        points=of.points,
        cap=of.cap,
        status=Grant.Status.PENDING_STOCK,
    )


def issue_waiting_grant(grant: Grant, *, actor=None, actor_label: str = ACTOR) -> bool:
    """Give a waiting grant its card and points; False (and the grant left pending_stock)
    when no card is in stock. Runs inside the caller's transaction, grant row locked."""
    kind = grant.card_kind  # the terms it was earned on, not the campaign's today
    card_ids = take_cards(kind.pk, kind.code, 1)
    if not card_ids:
        if grant.status != Grant.Status.PENDING_STOCK:
            grant.status = Grant.Status.PENDING_STOCK
            grant.save(update_fields=["status"])
        return False
    grant.card_id = card_ids[0]
    grant.status = Grant.Status.ISSUED
    grant.issued_at = timezone.now()
    grant.save(update_fields=["card", "status", "issued_at"])
    credit_points(grant)
    grant_issued_event(grant, card=grant.card, actor=actor, actor_label=actor_label)
    return True
