"""Make the poll plans: learn each campaign's openings by age from its invitations, and share
the upstream's budget among the pending ones (``yield_plan``). Run every ``POLL_PLAN_MINUTES``
by the worker cluster; the poller reads a campaign's plan at each lookup."""

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction

from core.clock import database_now

from .. import yield_plan
from ..check_policy import Policy
from ..models import Invitation, PollPlan

LEARN_FROM = timedelta(days=120)  # invitations made longer ago say little about today's invitees

# Per campaign and band of age at which an invitation stopped being pending (opened, decided
# otherwise, or not yet: its age now), how many did, and how many by an opening.
HISTORY = """
SELECT campaign_id,
       greatest(width_bucket(extract(epoch FROM (
           CASE WHEN status = %(qualified)s THEN account_opened_at
                WHEN status = %(pending)s THEN now()
                ELSE coalesce(decided_at, now()) END) - invited_at), %(edges)s::float8[]), 1) - 1,
       status = %(qualified)s,
       status = %(pending)s,
       count(*)
FROM {table}
WHERE invited_at > now() - %(learn_from)s
GROUP BY 1, 2, 3, 4
"""


def routine_budget() -> float:
    """Lookups a second the plans may share out (``yield_plan.routine_budget``)."""
    return yield_plan.routine_budget(
        settings.ACCOUNT_OPENING_RATE * settings.ACCOUNT_OPENING_BUDGET_SHARE,
        settings.POLL_MAX_SECONDS,
        timedelta(minutes=settings.POLL_INTERVAL_MINUTES),
    )


def _histories() -> tuple[dict, dict]:
    ended = defaultdict(lambda: [0] * yield_plan.BANDS)
    opened = defaultdict(lambda: [0] * yield_plan.BANDS)
    pending = defaultdict(lambda: [0] * yield_plan.BANDS)
    with connection.cursor() as cursor:
        cursor.execute(
            HISTORY.format(table=Invitation._meta.db_table),
            {
                "qualified": Invitation.Status.QUALIFIED,
                "pending": Invitation.Status.PENDING,
                "edges": [edge.total_seconds() for edge in yield_plan.AGE_EDGES],
                "learn_from": LEARN_FROM,
            },
        )
        for campaign, band, is_opening, is_pending, count in cursor.fetchall():
            ended[campaign][band] += count
            if is_opening:
                opened[campaign][band] += count
            if is_pending:
                pending[campaign][band] += count
    histories = {
        campaign: yield_plan.History(tuple(ended[campaign]), tuple(opened[campaign]))
        for campaign in ended
    }
    return histories, dict(pending)


@transaction.atomic
def make_poll_plans() -> int:
    """Replace every campaign's plan with one made from what is known now; returns how many
    campaigns have one (none while too few openings were seen: the fixed waits apply)."""
    histories, pending = _histories()
    policy = Policy.from_settings()
    plans = yield_plan.make_plans(
        histories, pending, routine_budget(), policy.first_wait, policy.max_gap
    )
    now = database_now()
    PollPlan.objects.exclude(campaign_id__in=list(plans)).delete()
    for campaign, plan in plans.items():
        PollPlan.objects.update_or_create(
            campaign_id=campaign,
            defaults={
                "waits": [round(wait.total_seconds()) for wait in plan.waits],
                "hazards": [round(rate * 86400, 6) for rate in plan.hazards],
                "pending": pending.get(campaign, [0] * yield_plan.BANDS),
                "openings_seen": histories[campaign].openings,
                "made_at": now,
            },
        )
    return len(plans)
