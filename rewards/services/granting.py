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
3. lock their inviters, in id order, and count, on the inviter's side, the live grants each
   has in each campaign (the cap) and the friends who took a place on its ladder;
4. take the invitations in id order per inviter and campaign: up to the cap, the inviter's grant
   takes the next place and that place's terms (``invitations.ladder``); the rest are recorded
   over the cap (invariant 5, ranked within the batch as well as against the past); where the
   campaign rewards the friend too, the friend's grant comes with it, over the cap as well;
   then, for campaigns with a budget or a daily limit, under a lock per campaign, both sides of
   an invitation together up to the budget (the rest recorded over it) and the day's limit (the
   rest left for a later day; ``budgets``);
5. take cards, per kind, soonest expiry first, in one statement, unless older grants of the kind
   wait for stock (then the new ones wait their turn and the queue is served oldest first); a
   grant without a card waits (``pending_stock``) and the stock-out is an anomaly; flagged
   inviters, paused or flagged campaigns and a fraud score at the threshold (``fraud.scoring``)
   hold their grants;
6. make a customer for each friend paid who is not one (``customers_for_phones``), insert the
   grants (numbers from the sequence in one round trip), points and events.
"""

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q

from core.compiled import CompiledQuery
from fraud.scoring import Candidate, scores, sightings_of
from invitations import ladder
from invitations.models import Customer, Invitation
from invitations.selectors import invitations_in_rings
from invitations.services.registration import customers_for_phones

from .. import hold_reasons
from ..batch_writes import insert_grants
from ..events import grant_released_event
from ..exceptions import GrantNotInStatus, NotQualified
from ..lock_objects import grants_for_update, invitations_for_reward, inviters_for_update
from ..models import Grant, UnrewardedInvitation
from ..numbers import next_grant_nos
from ..selectors import ladder_kinds, reward_state
from ..spending import grant_value
from .budgets import Budgets
from .issuing import SERVED_AHEAD, cards_for_new_grants, issue_waiting_grant, issue_waiting_grants


def hold_reason(*, campaign_paused: bool, campaign_flagged: bool, inviter_flagged: bool) -> str:
    """Why a new grant must wait for a reviewer, or "" when it may be issued."""
    if campaign_paused:
        return hold_reasons.CAMPAIGN_PAUSED
    if campaign_flagged:
        return hold_reasons.CAMPAIGN_FLAGGED
    if inviter_flagged:
        return hold_reasons.INVITER_FLAGGED
    return ""


def terms_of(locked: dict, place: int, ladder_kinds: dict) -> dict:
    """The terms the inviter's grant is earned on, from its locked campaign (invariant 17): the
    campaign's card kind and points, or the ladder's step for the inviter's ``place``-th friend
    (``ladder_kinds``: the step kinds' code and face value by id). Stored on the grant, paid by
    issue, fulfilment and reissue whatever the campaign says later. A grant reads the campaign
    in the statement that locks its invitation, so a grant racing a change of terms is wholly on
    the old or the new ones."""
    step = ladder.step_at(locked["campaign__ladder"], place)
    if step is None:
        kind, code, face = (
            locked["campaign__card_kind_id"],
            locked["campaign__card_kind__code"],
            locked["campaign__card_kind__face_value"],
        )
        points = locked["campaign__points"]
    else:
        kind, (code, face), points = step.card_kind_id, ladder_kinds[step.card_kind_id], step.points
    return {
        "side": Grant.Side.INVITER,
        "place": place,
        "card_kind_id": kind,
        "code": code,
        "face_value": face,
        "points": points,
        "cap": locked["campaign__max_rewards_per_inviter"],
    }


def friend_terms_of(locked: dict) -> dict | None:
    """The terms of the invited friend's grant (a card, points, or both), or None when the
    campaign rewards only the inviter (or the friend's number was erased at their request:
    nobody to pay)."""
    rewarded = locked["campaign__friend_card_kind_id"] or locked["campaign__friend_points"]
    if not rewarded or locked["phone_erased_at"] is not None:
        return None
    return {
        "side": Grant.Side.FRIEND,
        "place": None,
        "card_kind_id": locked["campaign__friend_card_kind_id"],
        "code": locked["campaign__friend_card_kind__code"],
        "face_value": locked["campaign__friend_card_kind__face_value"] or Decimal(0),
        "points": locked["campaign__friend_points"],
        "cap": locked["campaign__max_rewards_per_inviter"],
    }


# What a grant stores of its terms (invariant 17), with its side and ladder place.
TERMS = ("side", "place", "card_kind_id", "face_value", "points", "cap")


def new_grant_status(held_because: str, card_id: int | None, card_kind_id: int | None) -> str:
    """Held for a reviewer, issued with its card (or points only: no card to wait for), or
    waiting for stock."""
    if held_because:
        return Grant.Status.HELD
    return Grant.Status.ISSUED if card_id or card_kind_id is None else Grant.Status.PENDING_STOCK


# What the grant path reads with the invitations' lock: only the columns it uses.
LOCKED_FIELDS = (
    "pk",
    "status",
    "inviter_id",
    "campaign_id",
    "invitee_phone",
    "phone_erased_at",
    "inviter__is_flagged_for_review",
    "campaign__card_kind_id",
    "campaign__card_kind__code",
    "campaign__card_kind__face_value",
    "campaign__points",
    "campaign__max_rewards_per_inviter",
    "campaign__ladder",
    "campaign__friend_card_kind_id",
    "campaign__friend_card_kind__code",
    "campaign__friend_card_kind__face_value",
    "campaign__friend_points",
    "campaign__budget",
    "campaign__daily_limit",
    "campaign__point_value",
    "campaign__is_paused",
    "campaign__is_flagged_for_review",
    # for the fraud score (``fraud.scoring``), read with the lock (no round trip of their own;
    # a hint that may miss what another transaction writes this instant): the friend is a
    # customer already (their own invitations may close a ring), the inviter's sightings, the
    # friend's first deposit against the minimum
    "friend_is_customer",
    "inviter_sightings",
    "first_deposit",
    "campaign__min_deposit",
)
# The grant path's ORM statements, compiled once per process (core.compiled): a list of ids is
# one array parameter (``__any``), so one invitation or two hundred send the same statements.
_LOCK_INVITATIONS = CompiledQuery(
    lambda ids: (
        invitations_for_reward()
        .filter(pk__any=ids)
        .annotate(
            friend_is_customer=Exists(Customer.objects.filter(phone=OuterRef("invitee_phone"))),
            inviter_sightings=sightings_of(OuterRef("inviter_id")),
        )
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
# Per inviter and campaign, on the inviter's side: the live grants (the cap) and the friends
# who took a place on the ladder (every invitation granted, live or void: a void keeps its place).
_INVITERS_GRANTS = CompiledQuery(
    lambda inviters, campaigns: (
        Grant.objects.filter(
            inviter_id__any=inviters, campaign_id__any=campaigns, side=Grant.Side.INVITER
        )
        .values("inviter_id", "campaign_id")
        .annotate(
            live=Count("pk", filter=~Q(status=Grant.Status.VOID)),
            places=Count("invitation_id", distinct=True),
        )
        .values_list("inviter_id", "campaign_id", "live", "places")
    ),
    [-9_000_000_001],
    [-9_000_000_002],
)


@dataclass
class Granted:
    """What ``grant_locked`` did with a list of invitations."""

    grants: list[Grant] = field(default_factory=list)  # made now, by invitation id and side
    served: set[int] = field(default_factory=set)  # of those, ids the queue issued afterwards
    over_cap: list[int] = field(default_factory=list)  # invitation ids recorded over the cap
    over_budget: list[int] = field(default_factory=list)  # recorded over the campaign's budget
    deferred: list[int] = field(default_factory=list)  # over the day's limit: a later day's
    done_before: list[int] = field(default_factory=list)  # had a grant or an over-cap record
    not_qualified: dict[int, str] = field(default_factory=dict)  # invitation id: its status
    missing: int = 0  # ids that name no invitation
    values: dict[int, Decimal] = field(default_factory=dict)  # over budget or the day: their yuan

    def status_of(self, grant: Grant) -> str:
        return Grant.Status.ISSUED if grant.pk in self.served else grant.status

    def of_side(self, side: str) -> list[Grant]:
        return [grant for grant in self.grants if grant.side == side]


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
    # transactions, cannot both pass the cap check, nor take one place on the ladder.
    inviter_ids = sorted({row["inviter_id"] for row in rows})
    _LOCK_INVITERS.rows(inviter_ids)
    campaign_ids = sorted({row["campaign_id"] for row in rows})
    live, places = Counter(), Counter()
    for inviter_id, campaign_id, n_live, n_places in _INVITERS_GRANTS.rows(
        inviter_ids, campaign_ids
    ):
        live[(inviter_id, campaign_id)], places[(inviter_id, campaign_id)] = n_live, n_places
    step_kinds = ladder_kinds([row["campaign__ladder"] for row in rows])
    budgets = Budgets(rows)
    units = []  # the grants to make: an invitation's terms on each side, with its row
    for row in rows:  # in id order: the earlier invitation takes the last place under the cap
        key = (row["inviter_id"], row["campaign_id"])
        under_cap = live[key] < row["campaign__max_rewards_per_inviter"]
        terms = [terms_of(row, places[key] + 1, step_kinds)] if under_cap else []
        terms += [friend] if (friend := friend_terms_of(row)) else []
        value = sum(
            (
                grant_value(t["face_value"], t["points"], row["campaign__point_value"])
                for t in terms
            ),
            Decimal(0),
        )
        passed = budgets.take(row["campaign_id"], value) if terms else None
        if passed is not None:  # both sides wait: over the budget, or the day's limit
            (result.over_budget if passed == "budget" else result.deferred).append(row["pk"])
            result.values[row["pk"]] = value
            continue
        if under_cap:
            live[key] += 1
            places[key] += 1
        else:  # over the cap: the friend, if the campaign rewards them, is paid all the same
            result.over_cap.append(row["pk"])
        units += [{**t, "row": row} for t in terms]
    Reason = UnrewardedInvitation.Reason
    unrewarded = [(pk, Reason.OVER_CAP) for pk in result.over_cap]
    unrewarded += [(pk, Reason.OVER_BUDGET) for pk in result.over_budget]
    UnrewardedInvitation.objects.bulk_create(
        [UnrewardedInvitation(invitation_id=pk, reason=reason) for pk, reason in unrewarded]
    )
    if not units:
        return result

    holds = {
        row["pk"]: hold_reason(
            campaign_paused=row["campaign__is_paused"],
            campaign_flagged=row["campaign__is_flagged_for_review"],
            inviter_flagged=row["inviter__is_flagged_for_review"],
        )
        for row in rows
    }
    paid = {unit["row"]["pk"]: unit["row"] for unit in units}
    holds |= _fraud_holds([row for pk, row in paid.items() if not holds[pk]])
    friends = customers_for_phones(
        [u["row"]["invitee_phone"] for u in units if u["side"] == Grant.Side.FRIEND]
    )
    queued: Counter = Counter()  # per kind: new grants that wait behind older ones
    cards = _cards_for([u for u in units if not holds[u["row"]["pk"]]], queued)
    new_grants = []
    for unit, number in zip(units, next_grant_nos(len(units)), strict=True):
        row, held = unit["row"], holds[unit["row"]["pk"]]
        kind_cards = [] if held else cards.get(unit["card_kind_id"], [])
        card_id = kind_cards.pop(0) if kind_cards else None
        is_friend = unit["side"] == Grant.Side.FRIEND
        new_grants.append(
            {
                "grant_no": number,
                "invitation_id": row["pk"],
                "inviter_id": friends[row["invitee_phone"]] if is_friend else row["inviter_id"],
                "campaign_id": row["campaign_id"],
                "card_id": card_id,
                **{name: unit[name] for name in TERMS},
                "status": new_grant_status(held, card_id, unit["card_kind_id"]),
                "hold_reason": held,
            }
        )
    result.grants = insert_grants(new_grants)
    # the queue, oldest first: this call's grants it reached count as issued
    for (kind, code), n in sorted(queued.items()):
        result.served.update(issue_waiting_grants(kind, code, n + SERVED_AHEAD))
    return result


def _fraud_holds(rows: list[dict]) -> dict[int, str]:
    """The hold reason of each invitation whose fraud score reaches the threshold (``fraud``:
    the sightings came with the lock; the rings are read where a friend is a customer); both
    its sides are held for a reviewer."""
    if not rows:
        return {}
    # a ring passes through the friend as an inviter: only a friend who is a customer can
    rings = invitations_in_rings([row["pk"] for row in rows if row["friend_is_customer"]])
    candidates = [
        Candidate(
            row["pk"],
            row["inviter_id"],
            row["invitee_phone"],
            row["pk"] in rings,
            row["first_deposit"],
            row["campaign__min_deposit"],
        )
        for row in rows
    ]
    sightings = {row["inviter_id"]: row["inviter_sightings"] for row in rows}
    return {key: score.hold_reason()[:200] for key, score in scores(candidates, sightings).items()}


def _cards_for(units: list[dict], queued: Counter) -> dict[int, list[int]]:
    """Cards for these grants, by kind (one statement per kind); a kind whose older grants wait
    gives none, and its count goes to ``queued`` to serve that queue. Points-only grants want
    none."""
    wanted = Counter(unit["card_kind_id"] for unit in units if unit["card_kind_id"] is not None)
    codes = {unit["card_kind_id"]: unit["code"] for unit in units}
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
    for grant in result.grants:
        if grant.pk in result.served:
            grant.refresh_from_db()  # the queue, oldest first, reached this one too
    if made := result.of_side(Grant.Side.INVITER):
        return made[0]
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
    if locked.card_kind_id is not None:  # a card to wait for (points only: issued at once)
        locked.status = Grant.Status.PENDING_STOCK
    locked.hold_reason = ""
    locked.save(update_fields=["status", "hold_reason"])
    issue_waiting_grant(locked, actor=actor, actor_label="")
    return locked
