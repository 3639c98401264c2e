"""The poll plans: how often each age of invitation is looked up, learned from each campaign's
openings, spending the upstream's budget by the square-root rule (``invitations.yield_plan``),
made from the database (``services.planning``) and followed by the poller."""

import math
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from account_opening.client import AccountStatus
from invitations import yield_plan
from invitations.check_policy import Facts, NextCheck, Policy, Priority, next_check
from invitations.yield_plan import BANDS, MIN_OPENINGS, History, Plan, hazards, make_plans

MINUTE = timedelta(minutes=1)
SHORTEST, LONGEST = 2 * MINUTE, timedelta(hours=12)


def history(opened: dict[int, int], ended: dict[int, int]) -> History:
    """Openings by band, and invitations that ended (opened or not) by band."""
    return History(
        tuple(ended.get(band, 0) + opened.get(band, 0) for band in range(BANDS)),
        tuple(opened.get(band, 0) for band in range(BANDS)),
    )


def asked(plans: dict[int, Plan], pending: dict[int, list[int]]) -> float:
    return sum(
        count / wait.total_seconds()
        for campaign, plan in plans.items()
        for count, wait in zip(pending[campaign], plan.waits, strict=True)
    )


# Most openings in the first hours, a few later; 500 invitations never open (still pending at
# the last band).
YOUNG_OPENERS = history({0: 40, 1: 40, 2: 30, 3: 20, 8: 5}, {BANDS - 1: 500})


def test_the_hazard_is_openings_over_the_time_spent_pending_at_that_age():
    # 100 invitations: 10 open in the first band, the 90 others pass it.
    rates = hazards(history({0: 10}, {5: 90}))
    width = yield_plan.WIDTHS[0]
    assert rates[0] == pytest.approx(10 / (width * (90 + 0.5 * 10)))
    assert rates[1] == 0.0  # nobody opened at that age


def test_the_plans_spend_the_budget_and_look_up_likelier_ages_more_often():
    pending = {1: [100] * BANDS}
    [plan] = make_plans({1: YOUNG_OPENERS}, pending, 2.0, SHORTEST, LONGEST).values()

    assert asked({1: plan}, pending) == pytest.approx(2.0, rel=0.01)
    assert plan.waits[0] < plan.waits[3] < plan.waits[8] < plan.waits[BANDS - 1] == LONGEST
    assert all(SHORTEST <= wait <= LONGEST for wait in plan.waits)


def test_waits_follow_the_square_root_of_the_hazard_between_the_bounds():
    pending = {1: [100] * BANDS}
    [plan] = make_plans({1: YOUNG_OPENERS}, pending, 2.0, SHORTEST, LONGEST).values()
    free = [band for band, wait in enumerate(plan.waits) if SHORTEST < wait < LONGEST]

    assert len(free) >= 2
    first, other = free[0], free[-1]
    ratio = plan.waits[other] / plan.waits[first]
    assert ratio == pytest.approx(math.sqrt(plan.hazards[first] / plan.hazards[other]), rel=0.01)


def test_a_budget_larger_than_needed_looks_everything_up_as_often_as_allowed():
    [plan] = make_plans({1: YOUNG_OPENERS}, {1: [1] * BANDS}, 1000.0, SHORTEST, LONGEST).values()
    assert plan.waits[:4] == (SHORTEST,) * 4


def test_no_plan_before_enough_openings_were_seen():
    few = history({0: MIN_OPENINGS - 1}, {5: 100})
    assert make_plans({1: few}, {1: [10] * BANDS}, 2.0, SHORTEST, LONGEST) == {}


def test_a_new_campaign_leans_on_the_others_and_a_different_one_gets_its_own_plan():
    late_openers = history({8: 60, 9: 60}, {BANDS - 1: 300})
    new = history({}, {0: 3})
    pending = {1: [100] * BANDS, 2: [100] * BANDS, 3: [100] * BANDS}
    plans = make_plans({1: YOUNG_OPENERS, 2: late_openers, 3: new}, pending, 3.0, SHORTEST, LONGEST)

    assert plans[1].waits[0] < plans[2].waits[0]  # young openers' campaign: young first
    assert plans[2].waits[9] < plans[1].waits[9]  # late openers' campaign: older first
    assert all(wait < LONGEST for wait in plans[3].waits[:3])  # the others' shape, not nothing


def test_each_stage_learns_from_its_own_events_and_the_stages_share_the_budget():
    # Openings come young; first deposits come days after the opening. Keys are (campaign,
    # stage); each stage's prior and its "enough seen" are its own.
    late_deposits = history({9: 40, 10: 40}, {BANDS - 1: 50})
    histories = {(1, "opening"): YOUNG_OPENERS, (1, "deposit"): late_deposits}
    pending = {key: [100] * BANDS for key in histories}
    plans = make_plans(histories, pending, 3.0, SHORTEST, LONGEST, group=lambda key: key[1])

    assert asked(plans, pending) == pytest.approx(3.0, rel=0.01)  # one budget for both
    opening, deposit = plans[1, "opening"], plans[1, "deposit"]
    assert opening.waits[0] < deposit.waits[0] and deposit.waits[9] < opening.waits[9]

    # Too few deposits seen: the opening plan alone (the deposits keep the fixed waits).
    few = {(1, "opening"): YOUNG_OPENERS, (1, "deposit"): history({9: 3}, {BANDS - 1: 50})}
    assert list(make_plans(few, pending, 3.0, SHORTEST, LONGEST, group=lambda k: k[1])) == [
        (1, "opening")
    ]


def test_the_invitations_of_a_stage_without_a_plan_take_their_share_of_the_budget_first():
    few = {(1, "opening"): YOUNG_OPENERS, (1, "deposit"): history({9: 3}, {BANDS - 1: 50})}
    pending = {key: [100] * BANDS for key in few}
    plans = make_plans(
        few, pending, 3.0, SHORTEST, LONGEST, group=lambda k: k[1], fixed_wait=lambda band: 3600.0
    )
    by_fixed_waits = 100 * BANDS / 3600  # the accounts waiting for a deposit, each hourly
    assert list(plans) == [(1, "opening")]
    assert asked(plans, pending) == pytest.approx(3.0 - by_fixed_waits, rel=0.01)
    # when the fixed waits alone ask for the whole budget, everyone stays on them
    every_minute = make_plans(
        few, pending, 3.0, SHORTEST, LONGEST, group=lambda k: k[1], fixed_wait=lambda band: 60.0
    )
    assert every_minute == {}


def test_the_fixed_waits_are_about_the_age_while_young_then_a_quarter_of_it():
    from invitations.check_policy import typical_wait

    policy = Policy()
    assert typical_wait(timedelta(0), policy) == policy.first_wait
    assert typical_wait(timedelta(minutes=20), policy) == timedelta(minutes=20)
    assert typical_wait(timedelta(hours=3), policy) == policy.young_longest_wait
    assert typical_wait(timedelta(days=1), policy) == timedelta(hours=6)
    assert typical_wait(timedelta(days=9), policy) == policy.max_gap


def test_the_poller_follows_the_plan_and_signals_and_the_window_still_come_first():
    invited = timezone.now() - timedelta(hours=3)
    facts = Facts(invited, invited + timedelta(days=30), attempts=3)
    waits = tuple(timedelta(minutes=band + 5) for band in range(BANDS))
    plan = Plan(waits)
    now = invited + timedelta(hours=3)

    check = next_check(facts, now, Policy(), plan)
    assert check == NextCheck(now + plan.wait(now - invited), Priority.YOUNG)

    signalled = Facts(invited, invited + timedelta(days=30), 3, signal_at=now - MINUTE)
    assert next_check(signalled, now, Policy(), plan).priority == Priority.SIGNAL

    closing = Facts(invited, now + MINUTE, 3)
    assert next_check(closing, now, Policy(), plan).at == now + MINUTE + Policy().after_window


NOT_OPENED = AccountStatus("15900000001", False)


def openers(count: int, invited, **kwargs) -> list:
    """Invitations qualified by an account opened five minutes after ``invited``."""
    from invitations.models import Invitation
    from tests.factories import qualified_invitation

    rows = [qualified_invitation(**kwargs) for _ in range(count)]
    Invitation.objects.filter(pk__in=[row.pk for row in rows]).update(
        invited_at=invited,
        account_opened_at=invited + timedelta(minutes=5),
        decided_at=invited + timedelta(minutes=6),
    )
    return rows


@pytest.mark.django_db
def test_plans_are_made_from_the_campaigns_openings_and_the_poller_uses_them(settings):
    from invitations.models import Invitation, PollPlan
    from invitations.services.planning import make_poll_plans, routine_budget
    from invitations.services.polling import claim_due_invitations, record_lookup
    from tests.factories import CampaignFactory, InvitationFactory

    campaign = CampaignFactory()
    assert make_poll_plans() == 0 and not PollPlan.objects.exists()  # nothing seen yet

    invited = timezone.now() - timedelta(hours=2, minutes=30)
    openers(MIN_OPENINGS + 10, invited, campaign=campaign)
    waiting = InvitationFactory.create_batch(20, campaign=campaign)
    Invitation.objects.filter(pk__in=[row.pk for row in waiting]).update(invited_at=invited)

    assert make_poll_plans() == 1
    stored = PollPlan.objects.get(campaign=campaign)
    assert stored.openings_seen == MIN_OPENINGS + 10
    assert stored.pending[yield_plan.band(timedelta(hours=2, minutes=30))] == 20
    assert stored.hazards[0] > 0 and stored.plan().waits[0] < stored.plan().waits[-1]
    assert routine_budget() == pytest.approx(
        settings.ACCOUNT_OPENING_RATE
        * settings.ACCOUNT_OPENING_BUDGET_SHARE
        * min(settings.POLL_MAX_SECONDS / (60 * settings.POLL_INTERVAL_MINUTES), 1)
        * (1 - yield_plan.SIGNAL_SHARE)
    )

    # The plan says: invitations of two and a half hours are looked up every 7 minutes.
    waits = [600] * BANDS
    waits[yield_plan.band(timedelta(hours=2, minutes=30))] = 7 * 60
    PollPlan.objects.filter(pk=stored.pk).update(waits=waits)
    [claim, *_] = claim_due_invitations(1, lease_seconds=60)
    before = timezone.now()
    assert record_lookup(claim, NOT_OPENED) == "not_yet_opened"
    looked_up = Invitation.objects.get(pk=claim.invitation_id)
    assert before + timedelta(minutes=7) <= looked_up.next_check_at
    assert looked_up.next_check_at <= timezone.now() + timedelta(minutes=7)

    # A plan made for other age bands (an older release) is not followed.
    PollPlan.objects.filter(pk=stored.pk).update(waits=[7 * 60] * (BANDS - 1))
    assert PollPlan.objects.get(pk=stored.pk).plan() is None


@pytest.mark.django_db
def test_plans_go_when_there_is_too_little_to_learn_from():
    from invitations.models import Invitation, PollPlan
    from invitations.services.planning import make_poll_plans

    rows = openers(MIN_OPENINGS, timezone.now() - timedelta(hours=1))
    assert make_poll_plans() == MIN_OPENINGS  # each opener's campaign
    Invitation.objects.filter(pk=rows[0].pk).update(invited_at=timezone.now() - timedelta(days=200))
    assert make_poll_plans() == 0 and not PollPlan.objects.exists()


@pytest.mark.django_db
def test_staff_see_each_campaigns_plan_by_age(admin_client):
    from django.urls import reverse

    from invitations.services.planning import make_poll_plans
    from tests.factories import CampaignFactory

    campaign = CampaignFactory(name="Spring")
    openers(MIN_OPENINGS, timezone.now() - timedelta(hours=1), campaign=campaign)
    make_poll_plans()
    listing = admin_client.get(reverse("admin:invitations_pollplan_changelist"))
    assert listing.status_code == 200 and "Spring" in listing.content.decode()
    plan = campaign.poll_plans.get()
    page = admin_client.get(reverse("admin:invitations_pollplan_change", args=[plan.pk]))
    assert page.status_code == 200
    assert page.content.decode().count("<tr><td>") == BANDS


@pytest.mark.django_db
def test_an_account_waiting_for_its_deposit_counts_as_an_opening_not_as_a_pending_invitation():
    from invitations.models import Invitation, PollPlan
    from invitations.services.planning import make_poll_plans
    from tests.factories import CampaignFactory, InvitationFactory

    campaign = CampaignFactory(min_deposit=Decimal("1000.00"), deposit_days=7)
    invited = timezone.now() - timedelta(hours=5)
    openers(MIN_OPENINGS, invited, campaign=campaign)
    # Opened five minutes after the invitation, waiting for the first deposit since.
    waiting = InvitationFactory.create_batch(10, campaign=campaign)
    Invitation.objects.filter(pk__in=[row.pk for row in waiting]).update(
        invited_at=invited,
        account_opened_at=invited + timedelta(minutes=5),
        external_account_id=None,
        qualify_by=invited + timedelta(days=7),
    )

    make_poll_plans()
    plan = PollPlan.objects.get(campaign=campaign, stage=PollPlan.Stage.OPENING)
    assert plan.openings_seen == MIN_OPENINGS + 10
    assert sum(plan.pending) == 0  # none of them waits for an opening any more
    # The deposit stage has seen no deposit yet: no plan, its ten wait by the fixed waits.
    assert not PollPlan.objects.filter(stage=PollPlan.Stage.DEPOSIT).exists()


@pytest.mark.django_db
def test_the_wait_for_a_first_deposit_is_learned_by_the_accounts_age_and_followed():
    from invitations.models import Invitation, PollPlan
    from invitations.services.planning import make_poll_plans
    from invitations.services.polling import claim_due_invitations, record_lookup
    from tests.factories import CampaignFactory, InvitationFactory

    campaign = CampaignFactory(min_deposit=Decimal("1000.00"), deposit_days=7)
    now = timezone.now()
    # Forty friends who opened 3 days ago and deposited two days after opening.
    funded = openers(MIN_OPENINGS + 10, now - timedelta(days=3), campaign=campaign)
    Invitation.objects.filter(pk__in=[row.pk for row in funded]).update(
        funded_at=F("account_opened_at") + timedelta(days=2), first_deposit=Decimal("1500.00")
    )
    # One opened 30 hours ago and has not deposited yet.
    [waiting] = InvitationFactory.create_batch(1, campaign=campaign)
    opened_at = now - timedelta(hours=30)
    Invitation.objects.filter(pk=waiting.pk).update(
        invited_at=opened_at - timedelta(hours=1),
        account_opened_at=opened_at,
        qualify_by=opened_at + timedelta(days=7),
        next_check_at=now,
    )

    # Neither are arrivals: five deposits after their deadline (expired), five friends who
    # qualified before the campaign asked for a deposit (none recorded).
    late = openers(5, now - timedelta(days=20), campaign=campaign)
    Invitation.objects.filter(pk__in=[row.pk for row in late]).update(
        status=Invitation.Status.EXPIRED,
        qualify_by=F("account_opened_at") + timedelta(days=7),
        funded_at=F("account_opened_at") + timedelta(days=9),
        external_account_id=None,
    )
    openers(5, now - timedelta(days=20), campaign=campaign)

    assert make_poll_plans() == 2
    deposit = PollPlan.objects.get(campaign=campaign, stage=PollPlan.Stage.DEPOSIT)
    assert deposit.openings_seen == MIN_OPENINGS + 10
    assert sum(deposit.hazards[yield_plan.band(timedelta(days=9)) :]) == 0
    at_two_days = yield_plan.band(timedelta(days=2))
    assert deposit.hazards[at_two_days] > 0 and deposit.hazards[0] == 0
    assert deposit.pending[yield_plan.band(timedelta(hours=30))] == 1
    assert deposit.plan().waits[at_two_days] < deposit.plan().waits[0]

    # The poller looks the waiting account up again as the deposit plan says for its age (30
    # hours since the opening), not as the opening plan says for the invitation's.
    waits = [600] * BANDS
    waits[yield_plan.band(timedelta(hours=30))] = 17 * 60
    PollPlan.objects.filter(pk=deposit.pk).update(waits=waits)
    [claim] = claim_due_invitations(1, lease_seconds=60)
    before = timezone.now()
    unfunded = AccountStatus("15900000001", True, "ACC-W", opened_at, "app")
    assert record_lookup(claim, unfunded) == "awaiting_deposit"
    looked_up = Invitation.objects.get(pk=waiting.pk)
    assert before + timedelta(minutes=17) <= looked_up.next_check_at
    assert looked_up.next_check_at <= timezone.now() + timedelta(minutes=17)
