"""Make the poll plans: learn each campaign's openings by age from its invitations (and, where it
wants a first deposit, the deposits by the account's age), and share the upstream's budget among
the waiting ones (``yield_plan``). Run every ``POLL_PLAN_MINUTES``
by the worker cluster; the poller reads a campaign's plan at each lookup."""

from collections import defaultdict
from datetime import timedelta
from operator import itemgetter

from django.conf import settings
from django.db import connection, transaction

from core.clock import database_now

from .. import yield_plan
from ..check_policy import Policy, typical_wait
from ..models import Campaign, Invitation, PollPlan

Stage = PollPlan.Stage

LEARN_FROM = timedelta(days=120)  # invitations made longer ago say little about today's invitees

# An account opened in the invitation's window: the invitation's wait for an opening ended then
# (qualified, waiting for a first deposit, or expired without one; an account opened too late or
# before the invitation is no opening of ours).
OPENED_IN_TIME = "account_opened_at BETWEEN invited_at AND qualify_by"

# Per campaign and band of age at which an invitation stopped waiting for an opening (opened,
# decided otherwise, or not yet: its age now), how many did, how many by an opening, and how
# many are still waiting.
OPENINGS = """
SELECT campaign_id,
       greatest(width_bucket(extract(epoch FROM (
           CASE WHEN {opened_in_time} THEN account_opened_at
                WHEN status = %(pending)s THEN now()
                ELSE coalesce(decided_at, now()) END) - invited_at), %(edges)s::float8[]), 1) - 1,
       coalesce({opened_in_time}, false),
       status = %(pending)s AND account_opened_at IS NULL,
       count(*)
FROM {invitation}
WHERE invited_at > now() - %(learn_from)s
GROUP BY 1, 2, 3, 4
"""

# The same for the accounts opened in time in campaigns that want a first deposit, by the age of
# the account: when its wait for the deposit ended, and whether by a deposit in time (qualified
# by it, or by the deadline that an account which waited for its deposit has as its
# ``qualify_by``: one made too late is no arrival). An invitation qualified before the campaign
# asked for a deposit (none recorded) says nothing of deposits.
FUNDED_IN_TIME = "funded_at IS NOT NULL AND (status = %(qualified)s OR funded_at <= qualify_by)"
DEPOSITS = """
SELECT invitation.campaign_id,
       greatest(width_bucket(extract(epoch FROM (
           CASE WHEN {funded_in_time} THEN funded_at
                WHEN status = %(pending)s THEN now()
                ELSE coalesce(decided_at, now()) END) - account_opened_at),
           %(edges)s::float8[]), 1) - 1,
       {funded_in_time},
       status = %(pending)s,
       count(*)
FROM {invitation} invitation JOIN {campaign} campaign ON campaign.id = invitation.campaign_id
WHERE invited_at > now() - %(learn_from)s
  AND campaign.min_deposit IS NOT NULL
  AND {opened_in_time}
  AND (funded_at IS NOT NULL OR status <> %(qualified)s)
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
    """Each (campaign, stage)'s ``yield_plan.History`` and its waiting invitations by band."""
    ended = defaultdict(lambda: [0] * yield_plan.BANDS)
    arrived = defaultdict(lambda: [0] * yield_plan.BANDS)
    waiting = defaultdict(lambda: [0] * yield_plan.BANDS)
    names = {
        "invitation": Invitation._meta.db_table,
        "campaign": Campaign._meta.db_table,
        "opened_in_time": OPENED_IN_TIME,
        "funded_in_time": FUNDED_IN_TIME,
    }
    parameters = {
        "pending": Invitation.Status.PENDING,
        "qualified": Invitation.Status.QUALIFIED,
        "edges": [edge.total_seconds() for edge in yield_plan.AGE_EDGES],
        "learn_from": LEARN_FROM,
    }
    with connection.cursor() as cursor:
        for stage, query in ((Stage.OPENING, OPENINGS), (Stage.DEPOSIT, DEPOSITS)):
            cursor.execute(query.format(**names), parameters)
            for campaign, band, arrival, is_waiting, count in cursor.fetchall():
                key = (campaign, stage)
                ended[key][band] += count
                if arrival:
                    arrived[key][band] += count
                if is_waiting:
                    waiting[key][band] += count
    histories = {key: yield_plan.History(tuple(ended[key]), tuple(arrived[key])) for key in ended}
    return histories, dict(waiting)


@transaction.atomic
def make_poll_plans() -> int:
    """Replace every campaign's plans (one for each stage) with ones made from what is known now;
    returns how many there are (none for a stage while too few of its events were seen: the
    fixed waits apply). Both stages share the upstream's budget."""
    histories, pending = _histories()
    policy = Policy.from_settings()
    plans = yield_plan.make_plans(
        histories,
        pending,
        routine_budget(),
        policy.first_wait,
        policy.max_gap,
        group=itemgetter(1),
        fixed_wait=lambda band: typical_wait(yield_plan.typical_age(band), policy).total_seconds(),
    )
    now = database_now()
    for stage in Stage:
        kept = [campaign for campaign, planned in plans if planned == stage]
        PollPlan.objects.filter(stage=stage).exclude(campaign_id__in=kept).delete()
    for (campaign, stage), plan in plans.items():
        PollPlan.objects.update_or_create(
            campaign_id=campaign,
            stage=stage,
            defaults={
                "waits": [round(wait.total_seconds()) for wait in plan.waits],
                "hazards": [round(rate * 86400, 6) for rate in plan.hazards],
                "pending": pending.get((campaign, stage), [0] * yield_plan.BANDS),
                "openings_seen": histories[campaign, stage].openings,
                "made_at": now,
            },
        )
    return len(plans)
