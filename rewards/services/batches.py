"""Granting and issuing in batches: the set-based path, for work that arrives in bulk.

The poller grants one invitation inside the transaction that qualifies it
(``granting.grant_reward``). Two kinds of work arrive by the thousand instead: a restock that
lets every waiting grant be issued, and a sweep of qualified invitations left without a grant
(a qualification recorded by hand, a poller run with the grant receiver disconnected; a
grant that fails rolls the qualification back with it, so the poller, not the sweep, sees
that invitation again). Both take a batch in one transaction
with a fixed number of statements, whatever its size, under the same invariants and lock order
as the single path (invitations, inviters, grants, cards):

1. lock the batch's invitations, in id order, reading only the columns needed;
2. as a statement of its own after the locks (``selectors.reward_state`` says why), find those
   that already have a grant, live or void, or an over-cap record: they are left alone
   (idempotent; and a grant a person voided or rejected stays so, invariant 14);
3. lock their inviters, in id order, and count the live grants each has in each campaign;
4. take the invitations in id order per inviter and campaign up to the cap; the rest are
   recorded over the cap (invariant 5, ranked within the batch as well as against the past);
5. take cards, per kind, soonest expiry first, in one statement; a grant without a card waits
   (``pending_stock``) and the stock-out is an anomaly; flagged inviters and paused or flagged
   campaigns hold their grants;
6. insert the grants (numbers from the sequence in one round trip), points and events.

The database still refuses a second live grant per invitation and a second grant per card. A
batch that fails is rolled back whole and its invitations go one by one through the single
path, so one bad invitation costs its batch speed, not the others' rewards.
"""

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, fields

from django.db import transaction
from django.db.models import Count, Exists, OuterRef

from cardpool.models import CardKind
from core.compiled import CompiledQuery
from invitations.models import Invitation

from ..batch_writes import insert_grants
from ..exceptions import NotQualified
from ..lock_objects import (
    invitations_for_reward,
    inviters_for_update,
    oldest_pending_stock_for_update,
)
from ..models import Grant, UnrewardedInvitation
from ..numbers import next_grant_nos
from .granting import LOCKED_FIELDS, grant_reward, hold_reason, new_grant_status, terms_of
from .issuing import (
    SERVED_AHEAD,
    cards_for_new_grants,
    issue_waiting_grant,
    issue_waiting_grants,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 200


@dataclass
class BatchResult:
    issued: int = 0
    pending_stock: int = 0
    held: int = 0
    over_cap: int = 0
    skipped: int = 0  # not qualified, granted (or voided, or recorded over the cap) already
    failed: int = 0  # left for the next sweep: even the single path failed (logged)
    one_by_one: int = 0  # of all these, how many went through the single path

    def __iadd__(self, other: "BatchResult") -> "BatchResult":
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))
        return self


def grant_rewards(invitation_ids: Iterable[int]) -> BatchResult:
    """Grant every qualified invitation among ``invitation_ids`` in one transaction (see the
    module's docstring); falls back to ``grant_reward`` one by one if the batch fails."""
    ids = sorted(set(invitation_ids))
    if not ids:
        return BatchResult()
    try:
        return _grant_batch(ids)
    except Exception:
        logger.exception("granting a batch of %s invitations failed: one by one instead", len(ids))
        return _grant_one_by_one(ids)


def grant_missed_rewards(batch_size: int = BATCH_SIZE) -> BatchResult:
    """The sweep: qualified invitations with no grant at all (a void one is a person's decision,
    final for the sweep: invariant 14) and no over-cap record, granted in batches (oldest
    first). Nothing to do is one query: a walk of the qualified invitations with two anti-joins
    on indexed foreign keys."""
    total = BatchResult()
    after = 0
    while True:
        ids = list(
            Invitation.objects.filter(status=Invitation.Status.QUALIFIED, pk__gt=after)
            .filter(~Exists(Grant.objects.filter(invitation=OuterRef("pk"))))
            .filter(~Exists(UnrewardedInvitation.objects.filter(invitation=OuterRef("pk"))))
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return total
        total += grant_rewards(ids)
        after = ids[-1]


# The batch's ORM statements, compiled once per process (core.compiled): a list of
# ids is one array parameter (``__any``), so a batch of any size sends the same statements.
_LOCK_INVITATIONS = CompiledQuery(
    lambda ids: (
        invitations_for_reward()
        .filter(pk__any=ids, status=Invitation.Status.QUALIFIED)
        .values_list(*LOCKED_FIELDS)
    ),
    [-9_000_000_001],
)
_DONE_ALREADY = CompiledQuery(
    lambda granted, over_cap: (
        Grant.objects.filter(invitation_id__any=granted)  # live or void: both stand
        .values_list("invitation_id")
        .union(
            UnrewardedInvitation.objects.filter(invitation_id__any=over_cap).values_list(
                "invitation_id"
            ),
            all=True,
        )
    ),
    [-9_000_000_001],
    [-9_000_000_002],
)
_LOCK_INVITERS = CompiledQuery(
    lambda ids: inviters_for_update().filter(pk__any=ids).values_list("pk"), [-9_000_000_001]
)
_LIVE_GRANTS = CompiledQuery(
    lambda inviters, campaigns: (
        Grant.objects.live()
        .filter(inviter_id__any=inviters, campaign_id__any=campaigns)
        .values("inviter_id", "campaign_id")
        .annotate(n=Count("pk"))
        .values_list("inviter_id", "campaign_id", "n")
    ),
    [-9_000_000_001],
    [-9_000_000_002],
)


@transaction.atomic
def _grant_batch(ids: list[int]) -> BatchResult:
    result = BatchResult()
    rows = [dict(zip(LOCKED_FIELDS, row, strict=True)) for row in _LOCK_INVITATIONS.rows(ids)]
    found = [row["pk"] for row in rows]
    done = {invitation_id for (invitation_id,) in _DONE_ALREADY.rows(found, found)}
    rows = [row for row in rows if row["pk"] not in done]
    result.skipped = len(ids) - len(rows)
    if not rows:
        return result

    inviter_ids = sorted({row["inviter_id"] for row in rows})
    _LOCK_INVITERS.rows(inviter_ids)
    campaign_ids = sorted({row["campaign_id"] for row in rows})
    live = Counter(
        {
            (inviter_id, campaign_id): count
            for inviter_id, campaign_id, count in _LIVE_GRANTS.rows(inviter_ids, campaign_ids)
        }
    )
    granted, over_cap = [], []
    for row in rows:  # in id order: the earlier invitation takes the last place under the cap
        key = (row["inviter_id"], row["campaign_id"])
        if live[key] >= row["campaign__max_rewards_per_inviter"]:
            over_cap.append(row)
        else:
            live[key] += 1
            granted.append(row)
    UnrewardedInvitation.objects.bulk_create(
        UnrewardedInvitation(invitation_id=row["pk"], reason=UnrewardedInvitation.Reason.OVER_CAP)
        for row in over_cap
    )
    result.over_cap = len(over_cap)

    holds = {
        row["pk"]: hold_reason(
            campaign_paused=row["campaign__is_paused"],
            campaign_flagged=row["campaign__is_flagged_for_review"],
            inviter_flagged=row["inviter__is_flagged_for_review"],
        )
        for row in granted
    }
    queued: Counter = Counter()  # per kind: new grants that wait behind older ones
    cards = _cards_for([row for row in granted if not holds[row["pk"]]], queued)
    numbers = next_grant_nos(len(granted))
    new_grants = []
    for row, number in zip(granted, numbers, strict=True):
        kind_cards = [] if holds[row["pk"]] else cards[row["campaign__card_kind_id"]]
        card_id = kind_cards.pop(0) if kind_cards else None
        new_grants.append(
            {
                "grant_no": number,
                "invitation_id": row["pk"],
                "inviter_id": row["inviter_id"],
                "campaign_id": row["campaign_id"],
                "card_id": card_id,
                **terms_of(row),
                "status": new_grant_status(holds[row["pk"]], card_id),
                "hold_reason": holds[row["pk"]],
            }
        )
    written = insert_grants(new_grants)
    served = set()  # the queue, oldest first: this batch's grants it reached count as issued
    for (kind, code), n in sorted(queued.items()):
        served.update(issue_waiting_grants(kind, code, n + SERVED_AHEAD))
    statuses = Counter(
        Grant.Status.ISSUED if grant.pk in served else grant.status for grant in written
    )
    result.issued = statuses[Grant.Status.ISSUED]
    result.pending_stock = statuses[Grant.Status.PENDING_STOCK]
    result.held = statuses[Grant.Status.HELD]
    return result


def _cards_for(rows: list[dict], queued: Counter) -> dict[int, list[int]]:
    """Cards for these invitations' grants, by kind (one statement per kind); a kind whose
    older grants wait gives none, and its count goes to ``queued`` to serve that queue."""
    wanted = Counter(row["campaign__card_kind_id"] for row in rows)
    codes = {row["campaign__card_kind_id"]: row["campaign__card_kind__code"] for row in rows}
    cards = {}
    for kind in sorted(wanted):
        cards[kind] = cards_for_new_grants(kind, codes[kind], wanted[kind])
        if cards[kind] is None:
            cards[kind] = []
            queued[(kind, codes[kind])] = wanted[kind]
    return cards


def _grant_one_by_one(ids: list[int]) -> BatchResult:
    result = BatchResult(one_by_one=len(ids))
    for invitation_id in ids:
        try:
            grant = grant_reward(Invitation(pk=invitation_id))
        except NotQualified:
            result.skipped += 1
            continue
        except Exception:
            logger.exception(
                "granting invitation %s failed: left for the next sweep", invitation_id
            )
            result.failed += 1
            continue
        if grant is None:
            result.over_cap += 1
        elif grant.status == Grant.Status.VOID:  # a person's decision stands
            result.skipped += 1
        else:  # a grant made before is counted by its status too: the single path cannot say
            setattr(result, grant.status, getattr(result, grant.status) + 1)
    return result


def fulfil_pending_grants(kind: CardKind | None = None) -> int:
    """Issue waiting grants, oldest first, while cards last, a batch per transaction; returns
    how many were issued. A batch that fails is done again one grant per transaction."""
    if kind is None:
        kinds = list(
            CardKind.objects.filter(
                is_active=True,  # a kind switched off hands out nothing (services.card_kinds)
                grants__status=Grant.Status.PENDING_STOCK,
            ).distinct()
        )
    else:
        kinds = [kind]
    issued = 0
    for card_kind in kinds:
        while True:
            try:
                with transaction.atomic():
                    count = len(issue_waiting_grants(card_kind.pk, card_kind.code, BATCH_SIZE))
            except Exception:
                logger.exception("issuing a batch of %s grants failed: one by one", card_kind.code)
                issued += issue_waiting_grants_one_by_one(card_kind)
                break
            issued += count
            if count < BATCH_SIZE:
                break
    return issued


def issue_waiting_grants_one_by_one(kind: CardKind) -> int:
    """The single path, for a batch that failed: one grant per transaction."""
    issued = 0
    while True:
        with transaction.atomic():
            grant = oldest_pending_stock_for_update(kind.pk).first()
            if grant is None or not issue_waiting_grant(grant):
                return issued
        issued += 1
