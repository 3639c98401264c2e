"""The pipeline's health: the poller, the upstream, invitations and grants left waiting."""

from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from invitations.models import Invitation
from notifications.selectors import outbox_health

from ..models import AnomalyRule, Grant
from ..selectors import poller_health
from .registry import SAMPLE, WARNING, Found, fetch, once_per_run, rule, setting, sql

PENDING_PAST_WINDOW_SQL = sql("""SELECT campaign_id, count(*),
                  (array_agg(id ORDER BY qualify_by))[1:%(sample)s],
                  count(*) FILTER (WHERE last_error <> '')
           FROM {invitation}
           WHERE status = {invitation.pending} AND qualify_by < %(before)s GROUP BY campaign_id""")


@rule(AnomalyRule.POLLER_STALLED, WARNING, is_state=True)
def poller_stalled(now: datetime) -> list[Found]:
    health = once_per_run("poller_health", lambda: poller_health(now))
    if not health.is_stalled or not Invitation.objects.filter(status="pending").exists():
        return []
    last = health.last_cycle_at
    since = (
        _("never run")
        if last is None
        else _("not run since %(when)s") % {"when": f"{last:%Y-%m-%d %H:%M:%S %Z}"}
    )
    return [
        Found(
            "poller",
            _("The poller has %(since)s; invitations are waiting. Is the worker cluster up?")
            % {"since": since},
            {"last_cycle": last.isoformat() if last else None},
        )
    ]


@rule(AnomalyRule.UPSTREAM_ERROR_RATE, WARNING, is_state=True)
def upstream_error_rate(now: datetime) -> list[Found]:
    limit, minimum = setting("upstream_error_rate"), setting("upstream_min_lookups")
    health = once_per_run("poller_health", lambda: poller_health(now))
    # no lookups, no rate: with upstream_min_lookups at 0 too
    if not health.lookups or health.lookups < minimum or health.error_rate <= limit:
        return []
    return [
        Found(
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


@rule(AnomalyRule.PENDING_PAST_WINDOW, WARNING)
def pending_past_window(now: datetime) -> list[Found]:
    grace = timedelta(hours=setting("pending_past_window_hours"))
    rows = fetch(
        PENDING_PAST_WINDOW_SQL,
        {"before": now - grace, "sample": SAMPLE},
    )
    return [
        Found(
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


@rule(AnomalyRule.GRANTS_WAITING, WARNING, is_state=True)
def grants_waiting(now: datetime) -> list[Found]:
    hours = setting("grant_wait_hours")
    rows = fetch(
        sql("""SELECT campaign_id, status, count(*), min(created_at) FROM {grant}
           WHERE status IN ({grant.pending_stock}, {grant.held}) AND created_at < %(before)s
           GROUP BY campaign_id, status"""),
        {"before": now - timedelta(hours=hours)},
    )
    return [
        Found(
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


@rule(AnomalyRule.MESSAGES_STUCK, WARNING, is_state=True)
def messages_stuck(now: datetime) -> list[Found]:
    """Messages to customers are not going out: the oldest due one waits past the threshold
    (the worker cluster or the gateway is down), or some failed for good in the last day."""
    minutes = setting("message_backlog_minutes")
    outbox = outbox_health(now)
    found = []
    if outbox.oldest_due_seconds > minutes * 60:
        found.append(
            Found(
                "outbox:backlog",
                _(
                    "%(count)s messages to customers are due and not sent; the oldest for "
                    "%(minutes)s minutes. Is the worker cluster up, is the SMS gateway answering?"
                )
                % {"count": outbox.due, "minutes": round(outbox.oldest_due_seconds / 60)},
                {"due": outbox.due, "oldest_due_seconds": outbox.oldest_due_seconds},
            )
        )
    if outbox.dead_24h:
        found.append(
            Found(
                "outbox:dead",
                _(
                    "%(count)s messages to customers failed for good in the last day: see the "
                    "messages whose status is 'failed for good', and send them again."
                )
                % {"count": outbox.dead_24h},
                {"dead": outbox.dead_24h},
            )
        )
    return found
