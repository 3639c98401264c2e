"""Cards for grants and waiting grants given their card: take_cards (both grant paths; the
stock-out anomaly when short), issue_waiting_grant (a reviewer's release, the fallback of a failed
fulfilment batch) and create_waiting_grant (a staff reissue's replacement, whose events name the
reviewer). New grants of the grant paths are written by ``rewards.batch_writes``."""

from django.utils import timezone

from cardpool.services import allocate_cards
from core.actors import SystemActor
from core.compiled import CompiledQuery

from ..anomalies.stock import out_of_stock_finding
from ..batch_writes import issue_grants
from ..events import grant_issued_event
from ..lock_objects import oldest_pending_stock_for_update
from ..models import Grant
from ..notices import grants_changed
from ..numbers import next_grant_no
from .anomalies import record_finding
from .ledger import credit_points


def take_cards(kind_id: int, code: str, count: int) -> list[int]:
    """Up to ``count`` cards of a kind allocated in the caller's transaction, soonest expiry
    first, in one statement; when the stock runs short, fewer, and an out-of-stock anomaly."""
    card_ids = allocate_cards(kind_id, count, actor_label=SystemActor.GRANTS)
    if len(card_ids) < count:
        # the page and the e-mail say how many wait (at least those this call leaves waiting)
        waiting = Grant.objects.filter(card_kind_id=kind_id, status=Grant.Status.PENDING_STOCK)
        short = count - len(card_ids)
        record_finding(out_of_stock_finding(kind_id, code, max(waiting.count(), short)))
    return card_ids


# With new grants that wait their turn, the queue is served up to this many further grants in the
# same transaction (a restock found by a grant, not by the import, is served at once); the rest
# is the fulfilment's.
SERVED_AHEAD = 10

_OTHERS_WAITING = CompiledQuery(
    lambda kind_id: Grant.objects.filter(
        status=Grant.Status.PENDING_STOCK, card_kind_id=kind_id
    ).values_list("pk")[:1],
    -9_000_000_001,
)


def cards_for_new_grants(kind_id: int, code: str, count: int) -> list[int] | None:
    """Cards for ``count`` new grants of a kind, or None while older grants of the kind wait for
    stock: the new ones wait their turn, and the caller serves the queue oldest first
    (``issue_waiting_grants``) in the same transaction, so a card that arrives goes to the
    reward earned first."""
    if _OTHERS_WAITING.rows(kind_id):
        return None
    return take_cards(kind_id, code, count)


def issue_waiting_grants(kind_id: int, code: str, limit: int) -> list[int]:
    """Issue up to ``limit`` of the kind's waiting grants, oldest first, with the soonest
    expiring cards, in the caller's transaction; returns the ids of those issued. Grants another
    fulfiller holds are skipped (SKIP LOCKED), so several can run at once."""
    grant_ids = list(oldest_pending_stock_for_update(kind_id).values_list("pk", flat=True)[:limit])
    if not grant_ids:
        return []
    card_ids = take_cards(kind_id, code, len(grant_ids))
    # the oldest grants get the soonest-expiring cards; the rest keep waiting
    pairs = list(zip(grant_ids[: len(card_ids)], card_ids, strict=True))
    return [grant.pk for grant in issue_grants(pairs)]


def create_waiting_grant(*, of: Grant, origin: str, card_kind=None):
    """A grant that waits for its card (``issue_waiting_grant`` gives it one), numbered from the
    sequence, for the same invitation and on the same terms as ``of`` (invariant 17): a staff
    reissue's replacement, or a grant staff make again after a void. Only a reviewer's explicit
    choice (``staff.replace_in_kind``) gives another ``card_kind``, at its face value. The grant
    paths write theirs with ``rewards.batch_writes``. A points-only grant (no kind) waits for
    nothing: it is made issued (the database refuses it waiting), and ``issue_waiting_grant``
    books its points and says so."""
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
        side=of.side,
        place=of.place,
        status=Grant.Status.PENDING_STOCK if kind else Grant.Status.ISSUED,
        issued_at=None if kind else timezone.now(),
    )


def issue_waiting_grant(grant: Grant, *, actor=None, actor_label: str = SystemActor.GRANTS) -> bool:
    """Give a waiting grant its card and points (a points-only grant its points: always); False
    (and the grant left pending_stock) when no card is in stock. Runs inside the caller's
    transaction, grant row locked."""
    kind = grant.card_kind  # the terms it was earned on, not the campaign's today
    card_ids = take_cards(kind.pk, kind.code, 1) if kind is not None else [None]
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
    grants_changed([grant])
    return True
