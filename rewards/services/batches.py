"""Granting and issuing in batches, for work that arrives in bulk: a restock that lets every
waiting grant be issued, and a sweep of qualified invitations left without a grant (a
qualification recorded by hand, a poller run with the grant receiver disconnected; a grant that
fails rolls the qualification back with it, so the poller, not the sweep, sees that invitation
again). A batch goes through the same rules as the poller's single invitation
(``granting.grant_locked``), in one transaction with a fixed number of statements whatever its
size.

The database still refuses a second live grant per invitation and a second grant per card. A
batch that fails is rolled back whole and its invitations go one by one (``grant_reward``), so
one bad invitation costs its batch speed, not the others' rewards.
"""

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, fields

from django.db import transaction
from django.db.models import Exists, OuterRef

from cardpool.models import CardKind
from invitations.models import Invitation

from ..exceptions import NotQualified
from ..lock_objects import (
    oldest_pending_stock_for_update,
)
from ..models import Grant, UnrewardedInvitation
from .granting import grant_locked, grant_reward
from .issuing import (
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
    over_budget: int = 0
    deferred: int = 0  # over the campaign's limit for the day: a later sweep grants them
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


@transaction.atomic
def _grant_batch(ids: list[int]) -> BatchResult:
    granted = grant_locked(ids)
    # counted by invitation: the inviter's side (an invitation over the cap is counted as such
    # even when its friend was rewarded)
    inviters = granted.of_side(Grant.Side.INVITER)
    statuses = Counter(granted.status_of(grant) for grant in inviters)
    return BatchResult(
        issued=statuses[Grant.Status.ISSUED],
        pending_stock=statuses[Grant.Status.PENDING_STOCK],
        held=statuses[Grant.Status.HELD],
        over_cap=len(granted.over_cap),
        over_budget=len(granted.over_budget),
        deferred=len(granted.deferred),
        skipped=len(ids)
        - len(inviters)
        - len(granted.over_cap)
        - len(granted.over_budget)
        - len(granted.deferred),
    )


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
        if grant is None:  # not granted: why is recorded, or it waits for a later day
            reason = (
                UnrewardedInvitation.objects.filter(invitation_id=invitation_id)
                .values_list("reason", flat=True)
                .first()
            )
            field = reason if reason in ("over_cap", "over_budget") else "deferred"
            setattr(result, field, getattr(result, field) + 1)
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
