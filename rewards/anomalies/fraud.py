"""Signals of abuse (warnings for a person to look at; the pausing ones pause the campaign,
``ANOMALY_PAUSING_RULES``)."""

from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from ..models import AnomalyRule
from .registry import WARNING, Found, fetch, rule, setting, sql


@rule(AnomalyRule.INVITER_QUALIFICATIONS_PER_DAY, WARNING)
def inviter_daily_qualifications(now: datetime) -> list[Found]:
    limit = setting("max_qualifications_per_inviter_per_day")
    rows = fetch(
        sql("""SELECT inviter_id, campaign_id, count(*) FROM {invitation}
           WHERE status = {invitation.qualified} AND decided_at >= %(now)s - interval '1 day'
           GROUP BY inviter_id, campaign_id HAVING count(*) > %(limit)s"""),
        {"now": now, "limit": limit},
    )
    return [
        Found(
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


@rule(AnomalyRule.GRANT_RATE_SPIKE, WARNING)
def grant_rate_spike(now: datetime) -> list[Found]:
    factor, minimum = setting("grant_spike_factor"), setting("grant_spike_min")
    rows = fetch(
        sql("""SELECT campaign_id,
                  count(*) FILTER (WHERE created_at >= %(now)s - interval '1 hour'),
                  count(*) FILTER (WHERE created_at < %(now)s - interval '1 hour') / 167.0
           -- the inviters' side: a friend's reward switched on mid-campaign is no spike
           FROM {grant} WHERE side = {grant.inviter}
             AND created_at >= %(now)s - interval '7 days'
           GROUP BY campaign_id"""),
        {"now": now},
    )
    return [
        Found(
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


@rule(AnomalyRule.CHANNEL_BURST, WARNING)
def channel_burst(now: datetime) -> list[Found]:
    count, minutes = setting("channel_burst_count"), setting("channel_burst_minutes")
    rows = fetch(
        sql("""SELECT inviter_id, campaign_id, account_channel, max(together) FROM (
               SELECT inviter_id, campaign_id, account_channel,
                      count(*) OVER (PARTITION BY inviter_id, campaign_id, account_channel
                                     ORDER BY account_opened_at
                                     RANGE BETWEEN %(window)s PRECEDING AND CURRENT ROW)
                          AS together
               FROM {invitation}
               WHERE status = {invitation.qualified}
                 AND decided_at >= %(now)s - interval '1 day') opened
           GROUP BY inviter_id, campaign_id, account_channel HAVING max(together) >= %(count)s"""),
        {"now": now, "window": timedelta(minutes=minutes), "count": count},
    )
    return [
        Found(
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
