from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from cardpool.models import CardKind
from cardpool.selectors import allocation_horizon, counted_at
from core.compiled import CompiledList, CompiledQuery, OwnersRows
from core.counting import bounded_count, custom_plans
from invitations import ladder
from invitations.models import Campaign, CampaignEvent, Customer, Invitation, PollCycle

from .models import (
    Anomaly,
    AnomalyEvent,
    Grant,
    PointsEntry,
    ReconciliationRun,
    UnrewardedInvitation,
)
from .spending import budget_forecasts

_POINTS_BALANCE = CompiledQuery(
    lambda customer_id: (
        PointsEntry.objects.filter(customer_id=customer_id).order_by().values("amount")
    ),
    -9_000_000_102,
    template="SELECT coalesce(sum(amount), 0) FROM ({query}) AS entries",
)


def points_balance(customer: Customer) -> int:
    [(total,)] = _POINTS_BALANCE.rows(customer.pk)
    return total


def _reward_state(invitation_id: int) -> QuerySet:
    # the live grant first; else the newest void one (a person's decision, invariant 14)
    standing = Grant.objects.filter(invitation=OuterRef("pk"), side=Grant.Side.INVITER).order_by(
        Case(When(status=Grant.Status.VOID, then=Value(1)), default=Value(0)), "-pk"
    )
    return (
        Invitation.objects.filter(pk=invitation_id)
        .annotate(
            grant_id=Subquery(standing.values("pk")[:1]),
            is_unrewarded=Exists(UnrewardedInvitation.objects.filter(invitation=OuterRef("pk"))),
        )
        .values_list("grant_id", "is_unrewarded")
    )


_REWARD_STATE = CompiledQuery(_reward_state, -9_000_000_001)


def reward_state(invitation_id: int) -> dict:
    """``grant_id``, the invitation's grant that stands (the live one; else the newest void one:
    a person voided or rejected it, and that decision is final for the grant paths), and
    ``is_unrewarded``, in one statement (compiled once per process: it is on the grant path).

    Must run as its own statement *after* the invitation is locked. Folding it into the locking
    statement looks cheaper but is wrong under READ COMMITTED: when FOR UPDATE waits for another
    transaction, PostgreSQL re-checks the locked row but not the subqueries, which keep the
    statement's old snapshot and miss the grant the other transaction just committed (the chaos
    test caught exactly that; the unique constraint refused the second grant)."""
    [(grant_id, is_unrewarded)] = _REWARD_STATE.rows(invitation_id)
    return {"grant_id": grant_id, "is_unrewarded": is_unrewarded}


def inviters_above_cap(campaign: Campaign, cap: int) -> int:
    """How many inviters already hold more than ``cap`` live grants in ``campaign``."""
    return (
        Grant.objects.live()
        .filter(campaign=campaign, side=Grant.Side.INVITER)
        .values("inviter_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=cap)
        .count()
    )


def grants_of(customer: Customer) -> QuerySet[Grant]:
    """Only this customer's grants (invariant 10)."""
    return Grant.objects.filter(inviter=customer).select_related("card_kind", "card", "invitation")


def _open_card_reports(grant) -> QuerySet[Anomaly]:
    return Anomaly.objects.filter(grant=grant, kind="card_reported", status__in=Anomaly.ACTIVE)


def card_report_open(grant: Grant) -> bool:
    """Whether the customer's report of this grant's card is being checked."""
    return _open_card_reports(grant).exists()


def _grant_rows(inviter_id: int) -> QuerySet:
    answers = AnomalyEvent.objects.filter(
        anomaly__grant=OuterRef("pk"),
        anomaly__kind="card_reported",
        action__in=[AnomalyEvent.Action.RESOLVED, AnomalyEvent.Action.FALSE_POSITIVE],
    ).order_by("-created_at", "-id")
    return (
        Grant.objects.filter(inviter_id=inviter_id)  # invariant 10: own only
        .order_by("-created_at", "-id")
        .values(
            "grant_no",
            "status",
            "points",
            "created_at",
            "face_value",
            "first_revealed_at",
            "side",
            "place",
            kind_name=F("card_kind__name"),
            valid_until=F("card__valid_until"),
            replacement_no=Subquery(
                Grant.objects.filter(pk=OuterRef("replaced_by_id")).values("grant_no")[:1]
            ),
            replaces_no=Subquery(
                Grant.objects.filter(replaced_by=OuterRef("pk")).values("grant_no")[:1]
            ),
            report_open=Exists(_open_card_reports(OuterRef("pk"))),
            report_answer=Subquery(answers.values("reason")[:1]),
        )
    )


_GRANT_ROWS = CompiledList(
    _grant_rows, lambda inviter_id: Grant.objects.filter(inviter_id=inviter_id)
)


def grants_for_page(customer: Customer) -> OwnersRows:
    """The customer's grants, newest first, with what their page says of each: the card's
    kind and validity, the replacement's number, the grant it replaces, and the card report's
    state (being checked, or the reviewer's answer once closed); for ``Paginator``."""
    return _GRANT_ROWS.of(customer.pk)


def _invitation_rows(inviter_id: int) -> QuerySet:
    # Scalar subqueries with LIMIT, not Exists: PostgreSQL may run an EXISTS as a hashed
    # subplan that reads every live grant in the table before the first row (35 ms at
    # 100,000 grants), where these are one index probe for each row of the page.
    # the inviter's side only: the friend's reward is the friend's (invariant 10)
    inviters = Grant.objects.filter(side=Grant.Side.INVITER)

    def first(queryset) -> Subquery:
        return Subquery(queryset.filter(invitation=OuterRef("pk")).values("pk")[:1])

    return (
        Invitation.objects.filter(inviter_id=inviter_id)  # invariant 10: own only
        .order_by("-invited_at", "-id")
        .values(
            "invitee_phone",
            "status",
            "invited_at",
            "qualify_by",
            "account_opened_at",  # pending and opened: the campaign waits for a first deposit
            cap=F("campaign__max_rewards_per_inviter"),
            rewarded=first(inviters.live()),
            # issued, or on its way (waiting for a card, or held for a check): said so
            reward_status=Subquery(
                inviters.live().filter(invitation=OuterRef("pk")).values("status")[:1]
            ),
            # voided or rejected by a person, final (invariant 14): read only without a live one
            cancelled=first(inviters.filter(status=Grant.Status.VOID)),
            # why it earns nothing: over the inviter's cap, or over the campaign's budget
            unrewarded_because=Subquery(
                UnrewardedInvitation.objects.filter(invitation=OuterRef("pk")).values("reason")[:1]
            ),
        )
    )


_INVITATION_ROWS = CompiledList(
    _invitation_rows, lambda inviter_id: Invitation.objects.filter(inviter_id=inviter_id)
)


def invitations_for_page(customer: Customer) -> OwnersRows:
    """The customer's invitations, newest first, each with its live grant's id (or None), a
    void grant's (a reward a person cancelled) and why it earned nothing, if so; for
    ``Paginator``."""
    return _INVITATION_ROWS.of(customer.pk)


@dataclass(frozen=True)
class InvitationCounts:
    invited: int
    opened: int
    waiting: int  # friends who have not opened yet
    rewarded: int  # rewards issued: the card is there, the points credited
    on_its_way: int  # rewards earned, waiting for a card or held for a check
    cap_left: int | None


_INVITER, _CAMPAIGNS = -9_000_000_103, [-9_000_000_104]
# Counted by status from invitation_counts_of_inviter alone: no heap page per invitation.
_INVITATIONS_BY_STATUS = CompiledQuery(
    lambda inviter_id, campaign_ids: (
        Invitation.objects.filter(inviter_id=inviter_id, campaign_id__any=campaign_ids)
        .order_by()
        .values("status")
        .annotate(count=Count("*"))
        .values_list("status", "count")
    ),
    _INVITER,
    _CAMPAIGNS,
)
_LIVE_GRANTS_BY_STATUS = CompiledQuery(
    lambda inviter_id, campaign_ids: (
        Grant.objects.live()
        .filter(inviter_id=inviter_id, campaign_id__any=campaign_ids, side=Grant.Side.INVITER)
        .order_by()
        .values("status")
        .annotate(count=Count("*"))
        .values_list("status", "count")
    ),
    _INVITER,
    _CAMPAIGNS,
)


def invitation_counts(customer: Customer, campaign: Campaign | None) -> InvitationCounts:
    """The customer's counts in ``campaign`` (all campaigns when there is none): two
    statements, compiled once per process."""
    if campaign is not None:
        campaign_ids = [campaign.pk]
    else:
        campaign_ids = list(Campaign.objects.values_list("pk", flat=True))
    by_status = dict(_INVITATIONS_BY_STATUS.rows(customer.pk, campaign_ids))
    grants = dict(_LIVE_GRANTS_BY_STATUS.rows(customer.pk, campaign_ids))
    cap_left = None
    if campaign is not None:
        cap_left = max(0, campaign.max_rewards_per_inviter - sum(grants.values()))
    return InvitationCounts(
        invited=sum(by_status.values()),
        opened=by_status.get(Invitation.Status.QUALIFIED, 0),
        waiting=by_status.get(Invitation.Status.PENDING, 0),
        rewarded=grants.get(Grant.Status.ISSUED, 0),
        on_its_way=grants.get(Grant.Status.PENDING_STOCK, 0) + grants.get(Grant.Status.HELD, 0),
        cap_left=cap_left,
    )


_POINTS_ROWS = CompiledList(
    lambda customer_id: (
        PointsEntry.objects.filter(customer_id=customer_id)
        .order_by("-created_at", "-id")
        .values("kind", "amount", "created_at", grant_no=F("grant__grant_no"))
    ),
    lambda customer_id: PointsEntry.objects.filter(customer_id=customer_id),
)


def points_history(customer: Customer) -> OwnersRows:
    """The customer's points entries, newest first; for ``Paginator``."""
    return _POINTS_ROWS.of(customer.pk)


# Allocatable stock per active card kind, with grants waiting and the last 7 days' issue rate;
# each count is served by an index on cards or grants, or read from the cluster's count of the
# pool (CardCount: one row per kind, status and validity date).
_CARDS = {
    "pool": "SELECT count(*) FROM cardpool_card c",
    "counted": "SELECT coalesce(sum(c.cards), 0) FROM cardpool_cardcount c",
}
STOCK_SQL = """
SELECT k.id, k.code, k.low_stock_threshold,
       ({cards} WHERE c.kind_id = k.id AND c.status = 'available'
                  AND c.valid_until >= %(horizon)s),
       (SELECT count(*) FROM rewards_grant g
         WHERE g.card_kind_id = k.id AND g.status = 'pending_stock'),
       (SELECT count(*) FROM rewards_grant g
         WHERE g.card_kind_id = k.id AND g.status = 'issued'
           AND g.created_at >= %(now)s - interval '7 days'),
       ({cards} WHERE c.kind_id = k.id AND c.status = 'available'
                  AND c.valid_until < %(expiring_before)s)
FROM cardpool_cardkind k WHERE k.is_active ORDER BY k.code
"""


@dataclass(frozen=True)
class KindStock:
    kind_id: int
    code: str
    threshold: int
    allocatable: int
    waiting: int
    issued_7d: int
    expiring: int

    @property
    def days_left(self) -> float | None:
        """Days the allocatable stock lasts at the last 7 days' rate; None without issues."""
        return self.allocatable / (self.issued_7d / 7) if self.issued_7d else None


def stock_by_kind(
    now: datetime, *, expiring_days: int = 7, counted: bool = False
) -> list[KindStock]:
    """The stock per active kind, its cards counted in the pool, or, when ``counted`` (the
    staff's pages) and the cluster counted the pool recently, read from that count."""
    cards = _CARDS["counted" if counted and counted_at(now) else "pool"]
    with connection.cursor() as cursor:
        cursor.execute(
            STOCK_SQL.format(cards=cards),
            {
                "now": now,
                "horizon": allocation_horizon(now),  # the local date, as allocation counts
                "expiring_before": timezone.localdate(now) + timedelta(days=expiring_days),
            },
        )
        return [KindStock(*row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class PollerHealth:
    last_cycle_at: datetime | None
    is_stalled: bool  # no cycle for "poll_stalled_intervals" poll intervals
    lookups: int  # in the last 15 minutes
    errors: int

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.lookups if self.lookups else None


def poller_health(now: datetime) -> PollerHealth:
    """The poller's heartbeat and the upstream's recent failures, from the poll cycles (read by
    the anomaly rules and the review desk alike)."""
    last_cycle_at = PollCycle.objects.order_by("-started_at").values_list("started_at").first()
    last_cycle_at = last_cycle_at[0] if last_cycle_at else None
    recent = PollCycle.objects.filter(started_at__gte=now - timedelta(minutes=15)).aggregate(
        errors=Sum("errors"), claimed=Sum("claimed"), released=Sum("released")
    )
    stalled_after = timedelta(
        minutes=settings.POLL_INTERVAL_MINUTES
        * settings.ANOMALY_THRESHOLDS["poll_stalled_intervals"]
    )
    return PollerHealth(
        last_cycle_at=last_cycle_at,
        is_stalled=last_cycle_at is None or now - last_cycle_at > stalled_after,
        lookups=(recent["claimed"] or 0) - (recent["released"] or 0),
        errors=recent["errors"] or 0,
    )


def unopened_cards(now: datetime, *, expired: bool) -> QuerySet[Grant]:
    """Issued grants whose customer never opened the card: already expired (``expired``), or
    expiring within ``UNOPENED_CARD_WARNING_DAYS`` (local dates, as the cards' validity)."""
    today = timezone.localdate(now)
    unopened = Grant.objects.filter(status=Grant.Status.ISSUED, first_revealed_at__isnull=True)
    if expired:
        return unopened.filter(card__valid_until__lt=today)
    soon = today + timedelta(days=settings.UNOPENED_CARD_WARNING_DAYS)
    return unopened.filter(card__valid_until__gte=today, card__valid_until__lte=soon)


def review_desk(now: datetime) -> dict:
    """What the admin index shows staff: what needs a person now, and whether the pipeline runs.
    Every figure is an indexed lookup or a bounded count, planned for its own values (a plan
    for any value cannot use the partial indexes the counts need: ``core.counting``)."""
    with custom_plans():
        return _desk_figures(now)


def _desk_figures(now: datetime) -> dict:
    active = Anomaly.objects.filter(status__in=Anomaly.ACTIVE)
    by_severity = dict(
        active.order_by().values("severity").annotate(n=Count("pk")).values_list("severity", "n")
    )
    health = poller_health(now)
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    pending = Invitation.objects.filter(status=Invitation.Status.PENDING)
    return {
        "anomalies": [
            (severity, by_severity.get(severity, 0)) for severity in ("critical", "warning", "info")
        ],
        "stock": stock_by_kind(now, counted=True),
        "stock_counted_at": counted_at(now),
        "budgets": budget_forecasts(now),
        "grants_today": bounded_count(Grant.objects.filter(created_at__gte=today)),
        "grants_7d": bounded_count(Grant.objects.filter(created_at__gte=now - timedelta(days=7))),
        "held": bounded_count(Grant.objects.filter(status=Grant.Status.HELD)),
        "pending_stock": bounded_count(Grant.objects.filter(status=Grant.Status.PENDING_STOCK)),
        "unopened_expiring": bounded_count(unopened_cards(now, expired=False)),
        "unopened_expired": bounded_count(unopened_cards(now, expired=True)),
        "unopened_days": settings.UNOPENED_CARD_WARNING_DAYS,
        "terms_changed_7d": bounded_count(
            CampaignEvent.objects.filter(
                action=CampaignEvent.Action.TERMS_CHANGED, created_at__gte=now - timedelta(days=7)
            )
        ),
        "invitations_pending": bounded_count(pending),
        "invitations_due": bounded_count(pending.filter(next_check_at__lte=now)),
        "last_cycle": health.last_cycle_at,
        "last_cycle_age": now - health.last_cycle_at if health.last_cycle_at else None,
        "poller_stalled": health.is_stalled,
        "upstream_lookups": health.lookups,
        "upstream_error_rate": health.error_rate,
        # the latest *finished* run: one killed midway never finishes (0 breaches, not ok)
        "last_reconciliation": ReconciliationRun.objects.filter(finished_at__isnull=False)
        .order_by("-started_at")
        .first(),
        "count_limit": 10_000,
    }


def ladder_kinds(ladders) -> dict[int, tuple[str, Decimal]]:
    """The code and face value of every card kind the ``ladders`` (``Campaign.ladder`` values)
    name, by id: one statement, none without a ladder."""
    ids = {step.card_kind_id for value in ladders for step in ladder.steps(value)}
    if not ids:
        return {}
    kinds = CardKind.objects.filter(pk__in=sorted(ids)).values_list("pk", "code", "face_value")
    return {pk: (code, face) for pk, code, face in kinds}


@dataclass(frozen=True)
class LadderStep:
    start: int  # from the n-th friend on
    face_value: Decimal
    points: int


@dataclass(frozen=True)
class LadderProgress:
    """Where an inviter stands on a campaign's ladder (``invitations.ladder``)."""

    steps: list[LadderStep]
    friends: int  # friends who took a place: every reward earned, a cancelled one included
    next: LadderStep | None  # the next step up, or None at the top

    @property
    def to_go(self) -> int:
        """Friends still to qualify, the one who reaches the next step included."""
        return self.next.start - self.friends if self.next else 0


def ladder_progress(customer: Customer, campaign: Campaign | None) -> LadderProgress | None:
    """The campaign's ladder and how far ``customer`` is from its next step; None without one.
    Two statements: the step kinds' face values and the inviter's places."""
    if campaign is None or not campaign.ladder:
        return None
    kinds = ladder_kinds([campaign.ladder])
    shown = [
        LadderStep(step.start, kinds[step.card_kind_id][1], step.points)
        for step in ladder.steps(campaign.ladder)
        if step.card_kind_id in kinds
    ]
    friends = (
        Grant.objects.filter(inviter=customer, campaign=campaign, side=Grant.Side.INVITER)
        .values("invitation_id")
        .distinct()
        .count()
    )
    after = ladder.next_step(campaign.ladder, friends)
    upcoming = {step.start: step for step in shown}.get(after.start) if after else None
    return LadderProgress(shown, friends, upcoming)
