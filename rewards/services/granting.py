"""Turning qualified invitations into grants: one implementation for the poller's single
invitation (``grant_reward``, inside the transaction that qualifies it) and for the set-based path
(``batches.grant_rewards``: a restock, the sweep); and a reviewer releasing a held grant.

The incident: a job that fired every two minutes overlapped itself, several threads granted for
the same invitation, and inviters received more cards than they earned. Here every path locks the
invitation rows first, leaves alone those that have a grant already, and the database refuses a
second live grant per invitation and a second grant per card, so overlap cannot pay twice.

``grant_locked`` takes a list of invitation ids (one for the poller) in the caller's transaction,
with a fixed number of statements whatever its size, in the lock order invitations, inviters,
grants, cards:

1. lock the invitations, in id order, reading only the columns needed;
2. as a statement of its own after the locks (``selectors.reward_state`` says why), find those
   that already have a grant, live or void, or an over-cap record: they are left alone
   (idempotent; and a grant a person voided or rejected stays so, invariant 14);
3. lock their inviters, in id order, and count the live grants each has in each campaign;
4. take the invitations in id order per inviter and campaign up to the cap; the rest are
   recorded over the cap (invariant 5, ranked within the batch as well as against the past);
   then, for campaigns with a budget or a daily limit, under a lock per campaign, up to the
   budget (the rest recorded over it) and the day's limit (the rest left for a later day;
   ``budgets``);
5. take cards, per kind, soonest expiry first, in one statement, unless older grants of the kind
   wait for stock (then the new ones wait their turn and the queue is served oldest first); a
   grant without a card waits (``pending_stock``) and the stock-out is an anomaly; flagged
   inviters and paused or flagged campaigns hold their grants;
6. insert the grants (numbers from the sequence in one round trip), points and events.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count

from core.compiled import CompiledQuery
from invitations.models import Invitation

from ..batch_writes import insert_grants
from ..events import grant_released_event
from ..exceptions import GrantNotInStatus, NotQualified
from ..lock_objects import grants_for_update, invitations_for_reward, inviters_for_update
from ..models import Grant, UnrewardedInvitation
from ..numbers import next_grant_nos
from ..selectors import reward_state
from .budgets import within_budget
from .issuing import SERVED_AHEAD, cards_for_new_grants, issue_waiting_grant, issue_waiting_grants


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
    grant, paid by issue, fulfilment and reissue whatever the campaign says later. A grant reads
    the campaign in the statement that locks its invitation, so a grant racing a change of terms
    is wholly on the old or the new ones."""
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


# What the grant path reads with the invitations' lock: only the columns it uses.
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
    "campaign__budget",
    "campaign__daily_limit",
    "campaign__point_value",
    "campaign__is_paused",
    "campaign__is_flagged_for_review",
)
# The grant path's ORM statements, compiled once per process (core.compiled): a list of ids is
# one array parameter (``__any``), so one invitation or two hundred send the same statements.
_LOCK_INVITATIONS = CompiledQuery(
    lambda ids: invitations_for_reward().filter(pk__any=ids).values_list(*LOCKED_FIELDS),
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


@dataclass
class Granted:
    """What ``grant_locked`` did with a list of invitations."""

    grants: list[Grant] = field(default_factory=list)  # made now, in invitation id order
    served: set[int] = field(default_factory=set)  # of those, ids the queue issued afterwards
    over_cap: list[int] = field(default_factory=list)  # invitation ids recorded over the cap
    over_budget: list[int] = field(default_factory=list)  # recorded over the campaign's budget
    deferred: list[int] = field(default_factory=list)  # over the day's limit: a later day's
    done_before: list[int] = field(default_factory=list)  # had a grant or an over-cap record
    not_qualified: dict[int, str] = field(default_factory=dict)  # invitation id: its status
    missing: int = 0  # ids that name no invitation

    def status_of(self, grant: Grant) -> str:
        return Grant.Status.ISSUED if grant.pk in self.served else grant.status


def grant_locked(ids: list[int]) -> Granted:
    """The grant rules for these invitations (see the module's docstring), in the caller's
    transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("grant_locked must run inside transaction.atomic().")
    result = Granted()
    rows = [dict(zip(LOCKED_FIELDS, row, strict=True)) for row in _LOCK_INVITATIONS.rows(ids)]
    result.missing = len(ids) - len(rows)
    result.not_qualified = {
        row["pk"]: row["status"] for row in rows if row["status"] != Invitation.Status.QUALIFIED
    }
    rows = [row for row in rows if row["pk"] not in result.not_qualified]
    found = [row["pk"] for row in rows]
    done = {invitation_id for (invitation_id,) in _DONE_ALREADY.rows(found, found)}
    result.done_before = sorted(done)
    rows = [row for row in rows if row["pk"] not in done]
    if not rows:
        return result

    # Invariant 5: the inviters are locked so that two invitations of one inviter, in two
    # transactions, cannot both pass the cap check.
    inviter_ids = sorted({row["inviter_id"] for row in rows})
    _LOCK_INVITERS.rows(inviter_ids)
    campaign_ids = sorted({row["campaign_id"] for row in rows})
    live = Counter(
        {
            (inviter_id, campaign_id): count
            for inviter_id, campaign_id, count in _LIVE_GRANTS.rows(inviter_ids, campaign_ids)
        }
    )
    granted = []
    for row in rows:  # in id order: the earlier invitation takes the last place under the cap
        key = (row["inviter_id"], row["campaign_id"])
        if live[key] >= row["campaign__max_rewards_per_inviter"]:
            result.over_cap.append(row["pk"])
        else:
            live[key] += 1
            granted.append(row)
    money = within_budget(granted)
    granted, result.over_budget, result.deferred = money.granted, money.over_budget, money.deferred
    Reason = UnrewardedInvitation.Reason
    UnrewardedInvitation.objects.bulk_create(
        [UnrewardedInvitation(invitation_id=pk, reason=Reason.OVER_CAP) for pk in result.over_cap]
        + [
            UnrewardedInvitation(invitation_id=pk, reason=Reason.OVER_BUDGET)
            for pk in result.over_budget
        ]
    )
    if not granted:
        return result

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
    new_grants = []
    for row, number in zip(granted, next_grant_nos(len(granted)), strict=True):
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
    result.grants = insert_grants(new_grants)
    # the queue, oldest first: this call's grants it reached count as issued
    for (kind, code), n in sorted(queued.items()):
        result.served.update(issue_waiting_grants(kind, code, n + SERVED_AHEAD))
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


@transaction.atomic
def grant_reward(invitation: Invitation) -> Grant | None:
    """Create the grant for a qualified invitation: issued with a card and points, or waiting
    (``pending_stock`` when no card is in stock, ``held`` when the inviter or campaign is flagged
    or the campaign is paused). Returns None, and records why, when the inviter is over the cap or
    the campaign over its budget; None too when the campaign's day's limit is spent (granted on
    a later day by the sweep).
    ``grant_locked`` with a list of one.

    Idempotent: calling it again, from another process at the same moment, or after a crash,
    returns the one live grant. Final: after a person voided the grant or rejected the hold, it
    returns that void grant and grants nothing (invariant 14; the database refuses a second
    automatic grant for an invitation). Called (through the ``invitation_qualified`` signal)
    inside the transaction that marks the invitation qualified. Raises ``NotQualified``.

    Eight statements when it grants, reading only the columns used: lock the invitation (with its
    campaign's and inviter's fields), look for a grant or an over-cap record, lock the inviter,
    count their live grants, look for older grants of the kind waiting for stock, take a card
    with its event, a number, then the grant with its points and events in one."""
    result = grant_locked([invitation.pk])
    if result.missing:
        raise Invitation.DoesNotExist(f"Invitation #{invitation.pk} does not exist.")
    if result.not_qualified:
        raise NotQualified(Invitation(pk=invitation.pk, status=result.not_qualified[invitation.pk]))
    if result.grants:
        [grant] = result.grants
        if grant.pk in result.served:
            grant.refresh_from_db()  # the queue, oldest first, reached this one too
        return grant
    if result.over_cap or result.over_budget or result.deferred:
        return None
    state = reward_state(invitation.pk)  # granted before: live, or void by a person's decision
    return Grant.objects.get(pk=state["grant_id"]) if state["grant_id"] is not None else None


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
