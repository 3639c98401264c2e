"""Anomaly rules: each a small function running one SQL query and returning findings.

Money-like flows fail quietly: in the incident this system replaces, every failure was found by
customers days later. The "cannot happen" rules check what constraints and locks already
guarantee, because a superuser's hand-written SQL (the incident's "fix" re-marked used cards as
free) bypasses both. Thresholds are settings, documented in README.md.

A rule takes the database's "now" and returns ``Finding``s; it changes nothing. Applying them
(deduplicating, closing, pausing, emailing) is ``rewards.services.detection``.
"""

from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from invitations.models import Invitation

from ..models import Anomaly, AnomalyRule, Grant
from ..selectors import KindStock, poller_health, stock_by_kind

CRITICAL, WARNING = Anomaly.Severity.CRITICAL, Anomaly.Severity.WARNING
SAMPLE = 20  # ids listed in a finding's details, at most


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    subject: str  # deduplication key, e.g. "customer:12@campaign:3"
    message: str
    details: dict = field(default_factory=dict)
    subject_model: str | None = None  # "app_label.model" of the object it is about
    subject_id: int | None = None
    campaign_id: int | None = None


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    find: Callable[[datetime], list[Finding]]
    # about a state that comes and goes (stock, the poller, the upstream): its anomaly closes
    # by itself once the state stays cleared. Breaches and signals wait for a person.
    is_state: bool = False


# The statements of the slowest rules, named so the benchmark explains exactly these.
LEDGER_MISMATCH_SQL = """WITH expected AS (
               SELECT inviter_id AS customer_id, campaign_id, sum(points) AS points
               FROM rewards_grant WHERE status = 'issued' GROUP BY 1, 2),
           booked AS (
               SELECT e.customer_id, g.campaign_id, sum(e.amount) AS points
               FROM rewards_pointsentry e JOIN rewards_grant g ON g.id = e.grant_id
               WHERE e.kind IN ('reward', 'reversal') GROUP BY 1, 2)
           SELECT coalesce(x.customer_id, b.customer_id), coalesce(x.campaign_id, b.campaign_id),
                  coalesce(x.points, 0), coalesce(b.points, 0)
           FROM expected x FULL JOIN booked b
             ON b.customer_id = x.customer_id AND b.campaign_id = x.campaign_id
           WHERE coalesce(x.points, 0) <> coalesce(b.points, 0)"""
ASSIGNED_CARD_WITHOUT_GRANT_SQL = """SELECT c.id, c.kind_id FROM cardpool_card c
           WHERE c.status = 'assigned'
             AND NOT EXISTS (SELECT 1 FROM rewards_grant g WHERE g.card_id = c.id)"""
PENDING_PAST_WINDOW_SQL = """SELECT campaign_id, count(*),
                  (array_agg(id ORDER BY qualify_by))[1:%(sample)s],
                  count(*) FILTER (WHERE last_error <> '')
           FROM invitations_invitation
           WHERE status = 'pending' AND qualify_by < %(before)s GROUP BY campaign_id"""


def _rows(sql: str, params: dict | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.fetchall()


def _setting(name: str):
    return getattr(settings, f"ANOMALY_{name}")


# --- invariants that cannot happen (critical) ----------------------------------------------


def card_in_two_grants(now: datetime) -> list[Finding]:
    rows = _rows(
        """SELECT card_id, array_agg(id ORDER BY id), min(campaign_id) FROM rewards_grant
           WHERE card_id IS NOT NULL GROUP BY card_id HAVING count(*) > 1"""
    )
    return [
        Finding(
            AnomalyRule.CARD_IN_TWO_GRANTS,
            CRITICAL,
            f"card:{card_id}",
            _("Card #%(card)s is in %(count)s grants: %(grants)s.")
            % {"card": card_id, "count": len(grants), "grants": grants[:SAMPLE]},
            {"grant_ids": grants[:SAMPLE]},
            "cardpool.card",
            card_id,
            campaign_id,
        )
        for card_id, grants, campaign_id in rows
    ]


def invitation_two_live_grants(now: datetime) -> list[Finding]:
    rows = _rows(
        """SELECT invitation_id, array_agg(id ORDER BY id), min(campaign_id) FROM rewards_grant
           WHERE status <> 'void' GROUP BY invitation_id HAVING count(*) > 1"""
    )
    return [
        Finding(
            AnomalyRule.INVITATION_TWO_LIVE_GRANTS,
            CRITICAL,
            f"invitation:{invitation_id}",
            _("Invitation #%(invitation)s has %(count)s live grants: %(grants)s.")
            % {"invitation": invitation_id, "count": len(grants), "grants": grants[:SAMPLE]},
            {"grant_ids": grants[:SAMPLE]},
            "invitations.invitation",
            invitation_id,
            campaign_id,
        )
        for invitation_id, grants, campaign_id in rows
    ]


def inviter_over_cap(now: datetime) -> list[Finding]:
    """Invariant 5: no grant made while its inviter already held the cap in force then (stored
    on each grant): the n-th live grant of an inviter in a campaign is a breach only if n is
    above its own cap. A cap lowered later turns no past grant into a breach."""
    rows = _rows(
        """SELECT inviter_id, campaign_id, count(*), array_agg(id ORDER BY id) FILTER (
                      WHERE n > cap), min(cap) FILTER (WHERE n > cap)
           FROM (SELECT id, inviter_id, campaign_id, cap,
                        row_number() OVER (PARTITION BY inviter_id, campaign_id ORDER BY id) AS n
                 FROM rewards_grant WHERE status <> 'void') ranked
           GROUP BY inviter_id, campaign_id
           HAVING bool_or(n > cap)"""
    )
    return [
        Finding(
            AnomalyRule.INVITER_OVER_CAP,
            CRITICAL,
            f"customer:{customer_id}@campaign:{campaign_id}",
            _(
                "Customer #%(customer)s has %(count)s live grants in campaign #%(campaign)s; "
                "the cap is %(cap)s."
            )
            % {"customer": customer_id, "count": count, "campaign": campaign_id, "cap": cap},
            {"live_grants": count, "cap": cap, "over_cap_grant_ids": over[:SAMPLE]},
            "invitations.customer",
            customer_id,
            campaign_id,
        )
        for customer_id, campaign_id, count, over, cap in rows
    ]


def ledger_mismatch(now: datetime) -> list[Finding]:
    """Per customer and campaign: reward and reversal entries must add up to the points of the
    issued grants (a void grant was credited and reversed: zero)."""
    rows = _rows(LEDGER_MISMATCH_SQL)
    return [
        Finding(
            AnomalyRule.LEDGER_MISMATCH,
            CRITICAL,
            f"customer:{customer_id}@campaign:{campaign_id}",
            _(
                "Customer #%(customer)s's points ledger for campaign #%(campaign)s books "
                "%(booked)s points; their issued grants are worth %(expected)s."
            )
            % {
                "customer": customer_id,
                "campaign": campaign_id,
                "booked": booked,
                "expected": expected,
            },
            {"expected": int(expected), "booked": int(booked)},
            "invitations.customer",
            customer_id,
            campaign_id,
        )
        for customer_id, campaign_id, expected, booked in rows
    ]


def assigned_card_without_grant(now: datetime) -> list[Finding]:
    rows = _rows(ASSIGNED_CARD_WITHOUT_GRANT_SQL)
    return [
        Finding(
            AnomalyRule.ASSIGNED_CARD_WITHOUT_GRANT,
            CRITICAL,
            f"card:{card_id}",
            _("Card #%(card)s is assigned but belongs to no grant.") % {"card": card_id},
            {"kind_id": kind_id},
            "cardpool.card",
            card_id,
        )
        for card_id, kind_id in rows
    ]


def grant_card_not_assigned(now: datetime) -> list[Finding]:
    rows = _rows(
        """SELECT g.id, g.grant_no, g.campaign_id, c.id, c.status
           FROM rewards_grant g JOIN cardpool_card c ON c.id = g.card_id
           WHERE g.status = 'issued' AND c.status <> 'assigned'"""
    )
    return [
        Finding(
            AnomalyRule.GRANT_CARD_NOT_ASSIGNED,
            CRITICAL,
            f"grant:{grant_id}",
            _(
                "Grant %(grant)s is issued but its card #%(card)s is %(status)s: it could be "
                "handed out again."
            )
            % {"grant": grant_no, "card": card_id, "status": card_status},
            {"card_id": card_id, "card_status": card_status},
            "rewards.grant",
            grant_id,
            campaign_id,
        )
        for grant_id, grant_no, campaign_id, card_id, card_status in rows
    ]


def account_counted_twice(now: datetime) -> list[Finding]:
    """Invariant 3: one opened account counts for one invitation, in whichever campaign. Counted
    are the invitations it qualifies and those holding a live grant (a rejected invitation that
    was paid before the rule held across campaigns stays here until a person voids the extra
    grant)."""
    rows = _rows(
        """SELECT external_account_id, array_agg(id ORDER BY id), max(campaign_id)
           FROM invitations_invitation i
           WHERE external_account_id IS NOT NULL
             AND (status = 'qualified' OR EXISTS (
                 SELECT 1 FROM rewards_grant g
                 WHERE g.invitation_id = i.id AND g.status <> 'void'))
           GROUP BY external_account_id HAVING count(*) > 1"""
    )
    return [
        Finding(
            AnomalyRule.ACCOUNT_COUNTED_TWICE,
            CRITICAL,
            f"account:{account_id}",
            _(
                "Account %(account)s counts for %(count)s invitations (qualified, or paid): "
                "%(invitations)s."
            )
            % {
                "account": account_id,
                "count": len(invitations),
                "invitations": invitations[:SAMPLE],
            },
            {"invitation_ids": invitations[:SAMPLE], "account_id": account_id},
            "invitations.campaign",
            campaign_id,
            campaign_id,
        )
        for account_id, invitations, campaign_id in rows
    ]


def existing_customer_rewarded(now: datetime) -> list[Finding]:
    """Invariant 4: an account opened before the invitation earns nothing."""
    rows = _rows(
        """SELECT g.id, g.grant_no, g.campaign_id, i.id FROM rewards_grant g
           JOIN invitations_invitation i ON i.id = g.invitation_id
           WHERE g.status <> 'void' AND i.account_opened_at < i.invited_at"""
    )
    return [
        Finding(
            AnomalyRule.EXISTING_CUSTOMER_REWARDED,
            CRITICAL,
            f"grant:{grant_id}",
            _(
                "Grant %(grant)s rewards invitation #%(invitation)s, whose account was opened "
                "before the invitation."
            )
            % {"grant": grant_no, "invitation": invitation_id},
            {"invitation_id": invitation_id},
            "rewards.grant",
            grant_id,
            campaign_id,
        )
        for grant_id, grant_no, campaign_id, invitation_id in rows
    ]


# A Fernet token is URL-safe base64 of version byte 0x80 and a 64-bit timestamp: "gAAAAA...".
UNENCRYPTED_CARDS_SQL = """SELECT id, kind_id FROM cardpool_card
    WHERE number_encrypted NOT LIKE 'gAAAAA%%' OR password_encrypted NOT LIKE 'gAAAAA%%'"""


def card_secret_in_clear(now: datetime) -> list[Finding]:
    """Invariant 7: what is stored is a Fernet token, never the number or password itself."""
    return [
        Finding(
            AnomalyRule.CARD_SECRET_IN_CLEAR,
            CRITICAL,
            f"card:{card_id}",
            _(
                "Card #%(card)s's number or password is stored in a form that is not a Fernet "
                "token (written around the import?)."
            )
            % {"card": card_id},
            {"kind_id": kind_id},
            "cardpool.card",
            card_id,
        )
        for card_id, kind_id in _rows(UNENCRYPTED_CARDS_SQL)
    ]


def grant_number_reused(now: datetime) -> list[Finding]:
    """Invariant 8 (the unique constraint, checked in case it was dropped)."""
    rows = _rows(
        """SELECT grant_no, array_agg(id ORDER BY id), min(campaign_id) FROM rewards_grant
           GROUP BY grant_no HAVING count(*) > 1"""
    )
    return [
        Finding(
            AnomalyRule.GRANT_NUMBER_REUSED,
            CRITICAL,
            f"grant_no:{grant_no}",
            _("Grant number %(grant)s is used by grants %(grants)s.")
            % {"grant": grant_no, "grants": grants[:SAMPLE]},
            {"grant_ids": grants[:SAMPLE]},
            "invitations.campaign",
            campaign_id,
            campaign_id,
        )
        for grant_no, grants, campaign_id in rows
    ]


def card_changed_without_event(now: datetime) -> list[Finding]:
    """Invariant 9: a card leaves "available" only through a service, which records an event."""
    rows = _rows(
        """SELECT c.id, c.status FROM cardpool_card c
           WHERE c.status <> 'available'
             AND NOT EXISTS (SELECT 1 FROM cardpool_cardevent e
                             WHERE e.card_id = c.id AND e.to_status = c.status)"""
    )
    return [
        Finding(
            AnomalyRule.CARD_CHANGED_WITHOUT_EVENT,
            CRITICAL,
            f"card:{card_id}",
            _(
                "Card #%(card)s is %(status)s but no event records the change: it was changed "
                "by hand, outside the services."
            )
            % {"card": card_id, "status": status},
            {"status": status},
            "cardpool.card",
            card_id,
        )
        for card_id, status in rows
    ]


# Invariant 11: the triggers that make history append-only (migrations rewards 0006-0008).
PROTECTED_TABLES = (
    "rewards_pointsentry",
    "rewards_grantevent",
    "rewards_anomalyevent",
    "cardpool_cardevent",
    "cardpool_cardkindevent",
    "invitations_campaignevent",
    "invitations_customerevent",
    "invitations_invitationevent",
)


def grant_after_void(now: datetime) -> list[Finding]:
    """Invariant 14: after a person voided an invitation's grant (or rejected its hold), only
    another person's action (a reissue, "grant again") makes its next grant. A grant of another
    origin made after the void is an automatic path undoing that decision: money paid twice.
    The unique index on automatic grants stands behind it; grants the old sweep made before
    the index (labelled ``repeated`` by the migration) are found here."""
    rows = _rows(
        """SELECT g.id, g.grant_no, g.campaign_id, g.invitation_id, v.id, v.grant_no
           FROM rewards_grant v
           -- made after the void grant; while that one was live, no other could be (the
           -- one-live-grant index; invitation_two_live_grants watches that one)
           JOIN rewards_grant g ON g.invitation_id = v.invitation_id AND g.id > v.id
           WHERE v.status = 'void' AND g.origin NOT IN (%(reissue)s, %(granted_again)s)
           ORDER BY g.id""",
        {"reissue": Grant.Origin.REISSUE, "granted_again": Grant.Origin.GRANTED_AGAIN},
    )
    return [
        Finding(
            AnomalyRule.GRANT_AFTER_VOID,
            CRITICAL,
            f"grant:{grant_id}",
            _(
                "Grant %(grant)s of invitation #%(invitation)s was made automatically after "
                "a person voided %(void)s."
            )
            % {"grant": grant_no, "invitation": invitation_id, "void": void_no},
            {"grant_id": grant_id, "void_grant_id": void_id, "invitation_id": invitation_id},
            "rewards.grant",
            grant_id,
            campaign_id,
        )
        for grant_id, grant_no, campaign_id, invitation_id, void_id, void_no in rows
    ]


# Invariant 14's card side: a card's status only moves forward (cardpool migration 0006).
PROTECTING_TRIGGERS = (
    *((table, f"{table}_append_only") for table in PROTECTED_TABLES),
    ("cardpool_card", "cardpool_card_status_forward"),
)


def history_unprotected(now: datetime) -> list[Finding]:
    """A superuser can drop or disable a trigger; this notices."""
    tables, triggers = zip(*PROTECTING_TRIGGERS, strict=True)
    rows = _rows(
        """SELECT t.name, t.trigger FROM unnest(%(tables)s::text[], %(triggers)s::text[])
                  AS t(name, trigger)
           WHERE NOT EXISTS (
               SELECT 1 FROM pg_trigger g
               WHERE g.tgrelid = t.name::regclass AND g.tgname = t.trigger
                 AND g.tgenabled <> 'D')""",
        {"tables": list(tables), "triggers": list(triggers)},
    )
    return [
        Finding(
            AnomalyRule.HISTORY_UNPROTECTED,
            CRITICAL,
            f"table:{table}",
            _("%(table)s can be rewritten: its trigger %(trigger)s is missing or disabled.")
            % {"table": table, "trigger": trigger},
            {"table": table, "trigger": trigger},
        )
        for table, trigger in rows
    ]


# --- stock ------------------------------------------------------------------------------------


_run_cache: ContextVar[dict | None] = ContextVar("anomaly_run_cache", default=None)


@contextmanager
def one_run():
    """Rules run inside it share what several of them read (the stock per kind), once."""
    token = _run_cache.set({})
    try:
        yield
    finally:
        _run_cache.reset(token)


def _stock(now: datetime) -> list[KindStock]:
    cache = _run_cache.get()
    if cache is None or "stock" not in cache:
        stock = stock_by_kind(now, expiring_days=_setting("CARDS_EXPIRING_DAYS"))
        if cache is None:
            return stock
        cache["stock"] = stock
    return cache["stock"]


def _kind_finding(rule, severity, kind_id, message, details) -> Finding:
    return Finding(
        rule, severity, f"cardkind:{kind_id}", message, details, "cardpool.cardkind", kind_id
    )


def low_stock(now: datetime) -> list[Finding]:
    return [
        _kind_finding(
            AnomalyRule.LOW_STOCK,
            WARNING,
            kind.kind_id,
            _("%(kind)s: %(count)s cards can be handed out; the threshold is %(threshold)s.")
            % {"kind": kind.code, "count": kind.allocatable, "threshold": kind.threshold},
            {"allocatable": kind.allocatable, "threshold": kind.threshold},
        )
        for kind in _stock(now)
        if kind.allocatable < kind.threshold
    ]


def out_of_stock(now: datetime) -> list[Finding]:
    return [
        out_of_stock_finding(kind.kind_id, kind.code, kind.waiting)
        for kind in _stock(now)
        if kind.allocatable == 0 and kind.waiting
    ]


def out_of_stock_finding(kind_id: int, code: str, waiting: int | None = None) -> Finding:
    """Also raised at once by granting when a grant finds no card."""
    waiting_text = (
        _("%(count)s grants are waiting") % {"count": waiting}
        if waiting
        else _("grants are waiting")
    )
    return _kind_finding(
        AnomalyRule.OUT_OF_STOCK,
        CRITICAL,
        kind_id,
        _("%(kind)s is out of stock and %(waiting)s: import a batch.")
        % {"kind": code, "waiting": waiting_text},
        {"waiting": waiting},
    )


def cards_expiring(now: datetime) -> list[Finding]:
    days = _setting("CARDS_EXPIRING_DAYS")
    return [
        _kind_finding(
            AnomalyRule.CARDS_EXPIRING,
            WARNING,
            kind.kind_id,
            _("%(kind)s: %(count)s available cards expire within %(days)s days.")
            % {"kind": kind.code, "count": kind.expiring, "days": days},
            {"expiring": kind.expiring, "days": days},
        )
        for kind in _stock(now)
        if kind.expiring
    ]


def stock_days_left(now: datetime) -> list[Finding]:
    minimum = _setting("STOCK_MIN_DAYS_LEFT")
    return [
        _kind_finding(
            AnomalyRule.STOCK_DAYS_LEFT,
            WARNING,
            kind.kind_id,
            _(
                "%(kind)s: %(count)s cards last %(days).1f days at the last 7 days' rate "
                "(%(rate).1f a day); the minimum is %(minimum)s days."
            )
            % {
                "kind": kind.code,
                "count": kind.allocatable,
                "days": kind.days_left,
                "rate": kind.issued_7d / 7,
                "minimum": minimum,
            },
            {"allocatable": kind.allocatable, "days_left": kind.days_left},
        )
        for kind in _stock(now)
        if kind.days_left is not None and kind.days_left < minimum
    ]


# --- fraud signals -----------------------------------------------------------------------------


def inviter_daily_qualifications(now: datetime) -> list[Finding]:
    limit = _setting("MAX_QUALIFICATIONS_PER_INVITER_PER_DAY")
    rows = _rows(
        """SELECT inviter_id, campaign_id, count(*) FROM invitations_invitation
           WHERE status = 'qualified' AND decided_at >= %(now)s - interval '1 day'
           GROUP BY inviter_id, campaign_id HAVING count(*) > %(limit)s""",
        {"now": now, "limit": limit},
    )
    return [
        Finding(
            AnomalyRule.INVITER_QUALIFICATIONS_PER_DAY,
            WARNING,
            f"customer:{customer_id}@campaign:{campaign_id}",
            _(
                "Customer #%(customer)s had %(count)s invitees qualify in 24 hours "
                "(threshold %(limit)s)."
            )
            % {"customer": customer_id, "count": count, "limit": limit},
            {"qualified_24h": count, "threshold": limit},
            "invitations.customer",
            customer_id,
            campaign_id,
        )
        for customer_id, campaign_id, count in rows
    ]


def grant_rate_spike(now: datetime) -> list[Finding]:
    factor, minimum = _setting("GRANT_SPIKE_FACTOR"), _setting("GRANT_SPIKE_MIN")
    rows = _rows(
        """SELECT campaign_id,
                  count(*) FILTER (WHERE created_at >= %(now)s - interval '1 hour'),
                  count(*) FILTER (WHERE created_at < %(now)s - interval '1 hour') / 167.0
           FROM rewards_grant WHERE created_at >= %(now)s - interval '7 days'
           GROUP BY campaign_id""",
        {"now": now},
    )
    return [
        Finding(
            AnomalyRule.GRANT_RATE_SPIKE,
            WARNING,
            f"campaign:{campaign_id}",
            _(
                "Campaign #%(campaign)s made %(count)s grants in the last hour; the trailing "
                "average is %(average).1f an hour."
            )
            % {"campaign": campaign_id, "count": last_hour, "average": float(average)},
            {"last_hour": last_hour, "hourly_average": float(average)},
            "invitations.campaign",
            campaign_id,
            campaign_id,
        )
        for campaign_id, last_hour, average in rows
        if last_hour >= minimum and last_hour > factor * float(average)
    ]


def channel_burst(now: datetime) -> list[Finding]:
    count, minutes = _setting("CHANNEL_BURST_COUNT"), _setting("CHANNEL_BURST_MINUTES")
    rows = _rows(
        """SELECT inviter_id, campaign_id, account_channel, max(together) FROM (
               SELECT inviter_id, campaign_id, account_channel,
                      count(*) OVER (PARTITION BY inviter_id, campaign_id, account_channel
                                     ORDER BY account_opened_at
                                     RANGE BETWEEN %(window)s PRECEDING AND CURRENT ROW)
                          AS together
               FROM invitations_invitation
               WHERE status = 'qualified' AND decided_at >= %(now)s - interval '1 day') opened
           GROUP BY inviter_id, campaign_id, account_channel HAVING max(together) >= %(count)s""",
        {"now": now, "window": timedelta(minutes=minutes), "count": count},
    )
    return [
        Finding(
            AnomalyRule.CHANNEL_BURST,
            WARNING,
            f"customer:{customer_id}@campaign:{campaign_id}@{channel}",
            _(
                "%(count)s of customer #%(customer)s's invitees opened accounts through "
                "%(channel)s within %(minutes)s minutes."
            )
            % {"count": together, "customer": customer_id, "channel": channel, "minutes": minutes},
            {"channel": channel, "together": together, "minutes": minutes},
            "invitations.customer",
            customer_id,
            campaign_id,
        )
        for customer_id, campaign_id, channel, together in rows
    ]


# --- pipeline health ---------------------------------------------------------------------------


def poller_stalled(now: datetime) -> list[Finding]:
    health = poller_health(now)
    if not health.is_stalled or not Invitation.objects.filter(status="pending").exists():
        return []
    last = health.last_cycle_at
    since = (
        _("never run")
        if last is None
        else _("not run since %(when)s") % {"when": f"{last:%Y-%m-%d %H:%M:%S %Z}"}
    )
    return [
        Finding(
            AnomalyRule.POLLER_STALLED,
            WARNING,
            "poller",
            _("The poller has %(since)s; invitations are waiting. Is the worker cluster up?")
            % {"since": since},
            {"last_cycle": last.isoformat() if last else None},
        )
    ]


def upstream_error_rate(now: datetime) -> list[Finding]:
    limit, minimum = _setting("UPSTREAM_ERROR_RATE"), _setting("UPSTREAM_MIN_LOOKUPS")
    health = poller_health(now)
    # no lookups, no rate: with ANOMALY_UPSTREAM_MIN_LOOKUPS at 0 too
    if not health.lookups or health.lookups < minimum or health.error_rate <= limit:
        return []
    return [
        Finding(
            AnomalyRule.UPSTREAM_ERROR_RATE,
            WARNING,
            "upstream",
            _(
                "%(errors)s of %(lookups)s upstream lookups failed in the last 15 minutes "
                "(%(rate)s; threshold %(limit)s)."
            )
            % {
                "errors": health.errors,
                "lookups": health.lookups,
                "rate": f"{health.error_rate:.0%}",
                "limit": f"{limit:.0%}",
            },
            {"errors": health.errors, "lookups": health.lookups},
        )
    ]


def pending_past_window(now: datetime) -> list[Finding]:
    grace = timedelta(hours=_setting("PENDING_PAST_WINDOW_HOURS"))
    rows = _rows(
        PENDING_PAST_WINDOW_SQL,
        {"before": now - grace, "sample": SAMPLE},
    )
    return [
        Finding(
            AnomalyRule.PENDING_PAST_WINDOW,
            WARNING,
            f"campaign:{campaign_id}",
            _(
                "%(count)s invitations of campaign #%(campaign)s are still pending more than "
                "%(hours)s hours after their window closed (%(with_errors)s with an upstream "
                "error): is polling or expiry running?"
            )
            % {
                "count": count,
                "campaign": campaign_id,
                "hours": f"{grace.total_seconds() / 3600:g}",
                "with_errors": with_errors,
            },
            {"count": count, "with_errors": with_errors, "invitation_ids": sample},
            "invitations.campaign",
            campaign_id,
            campaign_id,
        )
        for campaign_id, count, sample, with_errors in rows
    ]


def grants_waiting(now: datetime) -> list[Finding]:
    hours = _setting("GRANT_WAIT_HOURS")
    rows = _rows(
        """SELECT campaign_id, status, count(*), min(created_at) FROM rewards_grant
           WHERE status IN ('pending_stock', 'held') AND created_at < %(before)s
           GROUP BY campaign_id, status""",
        {"before": now - timedelta(hours=hours)},
    )
    return [
        Finding(
            AnomalyRule.GRANTS_WAITING,
            WARNING,
            f"campaign:{campaign_id}@{status}",
            _(
                "%(count)s grants of campaign #%(campaign)s have been %(status)s for more than "
                "%(hours)s hours (oldest since %(oldest)s)."
            )
            % {
                "count": count,
                "campaign": campaign_id,
                "status": Grant.Status(status).label,
                "hours": hours,
                "oldest": f"{oldest:%Y-%m-%d %H:%M %Z}",
            },
            {"count": count, "status": status, "oldest": oldest.isoformat()},
            "invitations.campaign",
            campaign_id,
            campaign_id,
        )
        for campaign_id, status, count, oldest in rows
    ]


# Checked by ``reconcile`` too; a breach fails it.
INVARIANTS: tuple[Rule, ...] = (
    Rule(AnomalyRule.CARD_IN_TWO_GRANTS, CRITICAL, card_in_two_grants),
    Rule(AnomalyRule.INVITATION_TWO_LIVE_GRANTS, CRITICAL, invitation_two_live_grants),
    Rule(AnomalyRule.INVITER_OVER_CAP, CRITICAL, inviter_over_cap),
    Rule(AnomalyRule.LEDGER_MISMATCH, CRITICAL, ledger_mismatch),
    Rule(AnomalyRule.ASSIGNED_CARD_WITHOUT_GRANT, CRITICAL, assigned_card_without_grant),
    Rule(AnomalyRule.GRANT_CARD_NOT_ASSIGNED, CRITICAL, grant_card_not_assigned),
    Rule(AnomalyRule.ACCOUNT_COUNTED_TWICE, CRITICAL, account_counted_twice),
    Rule(AnomalyRule.EXISTING_CUSTOMER_REWARDED, CRITICAL, existing_customer_rewarded),
    Rule(AnomalyRule.CARD_SECRET_IN_CLEAR, CRITICAL, card_secret_in_clear),
    Rule(AnomalyRule.GRANT_NUMBER_REUSED, CRITICAL, grant_number_reused),
    Rule(AnomalyRule.CARD_CHANGED_WITHOUT_EVENT, CRITICAL, card_changed_without_event),
    Rule(AnomalyRule.HISTORY_UNPROTECTED, CRITICAL, history_unprotected),
    Rule(AnomalyRule.GRANT_AFTER_VOID, CRITICAL, grant_after_void),
)
RULES: tuple[Rule, ...] = (
    *INVARIANTS,
    Rule(AnomalyRule.LOW_STOCK, WARNING, low_stock, is_state=True),
    Rule(AnomalyRule.OUT_OF_STOCK, CRITICAL, out_of_stock, is_state=True),
    Rule(AnomalyRule.CARDS_EXPIRING, WARNING, cards_expiring, is_state=True),
    Rule(AnomalyRule.STOCK_DAYS_LEFT, WARNING, stock_days_left, is_state=True),
    Rule(AnomalyRule.INVITER_QUALIFICATIONS_PER_DAY, WARNING, inviter_daily_qualifications),
    Rule(AnomalyRule.GRANT_RATE_SPIKE, WARNING, grant_rate_spike),
    Rule(AnomalyRule.CHANNEL_BURST, WARNING, channel_burst),
    Rule(AnomalyRule.POLLER_STALLED, WARNING, poller_stalled, is_state=True),
    Rule(AnomalyRule.UPSTREAM_ERROR_RATE, WARNING, upstream_error_rate, is_state=True),
    Rule(AnomalyRule.PENDING_PAST_WINDOW, WARNING, pending_past_window),
    Rule(AnomalyRule.GRANTS_WAITING, WARNING, grants_waiting, is_state=True),
)
