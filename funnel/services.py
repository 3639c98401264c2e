"""Counting the campaigns' funnels for the staff's page (``FUNNEL_REFRESH_MINUTES``, by the
cluster): a handful of GROUP BY statements per campaign, each over that campaign's rows only,
written as a campaign's days and summary in one transaction (the page never sees half).

The steps, by day (Beijing time): link visits (``fraud`` sightings of an invite link that showed
the campaign, at most one an hour per browser and link; a day keeps its count once the sightings
are deleted, and the days counted before visits named their campaign keep theirs), phones
verified (invitations, staff's attributions left out), accounts opened (not an existing
customer's), accounts funded (the first deposit), inviters rewarded (the inviter's live grants by
the day they were made). The cost is every live grant, both sides, at face value plus points at
the campaign's point value."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from cardpool.models import Card
from cardpool.selectors import allocation_horizon
from core.clock import database_now
from fraud.models import Sighting
from fraud.scoring import HELD_PREFIX
from invitations import ladder
from invitations.models import Campaign, Invitation
from rewards.models import Grant

from .models import FunnelDay, FunnelSummary

STEPS = ("visits", "verified", "opened", "funded", "rewarded")
RECENTLY_ENDED = timedelta(days=7)


def _by_day(rows: QuerySet, field: str, **totals) -> dict:
    zone = ZoneInfo(settings.TIME_ZONE)
    found = (
        rows.order_by()
        .annotate(day=TruncDate(field, tzinfo=zone))
        .values("day")
        .annotate(**(totals or {"n": Count("pk")}))
    )
    return {row.pop("day"): row for row in found}


def count_campaign(campaign: Campaign, now) -> tuple[list[FunnelDay], FunnelSummary]:
    """One campaign's days and summary, counted now (not saved)."""
    invitations = Invitation.objects.filter(campaign=campaign)
    live = Grant.objects.live().filter(campaign=campaign)
    value = F("face_value") + F("points") * campaign.point_value
    steps = {
        "visits": _by_day(
            Sighting.objects.filter(step=Sighting.Step.LINK_VISIT, campaign_id=campaign.pk),
            "seen_at",
        ),
        "verified": _by_day(invitations.exclude(channel=Invitation.Channel.STAFF), "invited_at"),
        "opened": _by_day(
            invitations.filter(account_opened_at__gte=F("invited_at")), "account_opened_at"
        ),
        "funded": _by_day(invitations.filter(funded_at__isnull=False), "funded_at"),
        "rewarded": _by_day(
            live,
            "created_at",
            n=Count("pk", filter=Q(side=Grant.Side.INVITER)),
            cost=Sum(value),
        ),
    }
    days = sorted({day for found in steps.values() for day in found})
    rows = [
        FunnelDay(
            campaign=campaign,
            day=day,
            cost=steps["rewarded"].get(day, {}).get("cost") or Decimal(0),
            **{step: steps[step].get(day, {}).get("n", 0) for step in STEPS},
        )
        for day in days
    ]
    return rows, _summary(campaign, live, now)


def _summary(campaign: Campaign, live: QuerySet, now) -> FunnelSummary:
    figures = live.aggregate(
        grants=Count("pk"),
        friends=Count("pk", filter=Q(side=Grant.Side.FRIEND)),
        held=Count("pk", filter=Q(status=Grant.Status.HELD)),
        fraud=Count("pk", filter=Q(status=Grant.Status.HELD, hold_reason__startswith=HELD_PREFIX)),
        spent=Sum(F("face_value") + F("points") * campaign.point_value),
    )
    places = live.filter(side=Grant.Side.INVITER).values("place").annotate(n=Count("pk"))
    by_step = Counter()
    for row in places:
        step = ladder.step_at(campaign.ladder, row["place"] or 1)
        by_step[step.start if step else 1] += row["n"]
    kinds = {step.card_kind_id for step in ladder.steps(campaign.ladder)}
    kinds |= {campaign.card_kind_id} | {campaign.friend_card_kind_id} - {None}
    stock = Card.objects.filter(
        kind_id__in=kinds,
        status=Card.Status.AVAILABLE,
        valid_until__gte=allocation_horizon(now),
    ).count()
    return FunnelSummary(
        campaign=campaign,
        refreshed_at=now,
        grants=figures["grants"],
        friends_rewarded=figures["friends"],
        held=figures["held"],
        held_for_fraud=figures["fraud"],
        spent=figures["spent"] or Decimal(0),
        stock=stock,
        ladder=sorted(by_step.items()),
    )


def _keep_visits(campaign: Campaign, days: list[FunnelDay]) -> None:
    """Visits are counted from sightings, which are deleted after ``FRAUD_SIGNALS_KEEP_DAYS``:
    a day counted before keeps its visits (a count never goes down), and a day that had only
    visits stays."""
    counted = dict(FunnelDay.objects.filter(campaign=campaign).values_list("day", "visits"))
    for row in days:
        row.visits = max(row.visits, counted.pop(row.day, 0))
    days += [FunnelDay(campaign=campaign, day=day, visits=n) for day, n in counted.items() if n]
    days.sort(key=lambda row: row.day)


def refresh_funnels() -> int:
    """Count every campaign that has started and has not been over for a week; returns how
    many were counted. Each campaign's rows are replaced in one transaction."""
    now = database_now()
    campaigns = Campaign.objects.filter(starts_at__lte=now, ends_at__gt=now - RECENTLY_ENDED)
    counted = 0
    for campaign in campaigns:
        days, summary = count_campaign(campaign, now)
        with transaction.atomic():
            _keep_visits(campaign, days)
            FunnelDay.objects.filter(campaign=campaign).delete()
            FunnelDay.objects.bulk_create(days)
            FunnelSummary.objects.filter(campaign=campaign).delete()
            summary.save()
        counted += 1
    return counted
