"""A campaign's budget and daily limit, in yuan: spent by every live grant (cards at face value,
points at the campaign's point value), checked under one lock per campaign with the grant, so no
number of processes overspends; what is over is recorded for staff, or granted on a later day."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from invitations.models import Campaign
from rewards.anomalies.money import budget_nearly_spent, budget_spent
from rewards.exceptions import StillOverBudget
from rewards.models import Grant, GrantEvent, UnrewardedInvitation
from rewards.services import grant_missed_rewards, grant_reward, void_grant
from rewards.services.staff import grant_over_budget
from tests.factories import (
    CampaignFactory,
    CardKindFactory,
    CustomerFactory,
    make_cards,
    qualified_invitation,
)
from tests.processes import run_workers, scalar

# a reward: a 20-yuan card and 200 points at 5 fen each, 30 yuan
REWARD = Decimal("30")


def budgeted(budget=None, daily_limit=None, cards=20) -> Campaign:
    campaign = CampaignFactory(
        points=200, budget=budget, daily_limit=daily_limit, point_value=Decimal("0.05")
    )
    make_cards(campaign.card_kind, cards)
    return campaign


def friend(campaign):
    return qualified_invitation(campaign=campaign, inviter=CustomerFactory())


@pytest.mark.django_db
def test_a_campaign_grants_up_to_its_budget_and_records_the_rest_over_it():
    campaign = budgeted(budget=2 * REWARD + 29)  # room for two, not three
    first, second, third = (friend(campaign) for _ in range(3))
    assert grant_reward(first).status == grant_reward(second).status == "issued"
    assert grant_reward(third) is None
    assert UnrewardedInvitation.objects.get().reason == "over_budget"
    assert UnrewardedInvitation.objects.get().invitation_id == third.pk
    assert grant_reward(third) is None  # once recorded, left alone
    assert Grant.objects.count() == 2


@pytest.mark.django_db
def test_held_and_waiting_grants_spend_the_budget_and_a_void_one_gives_it_back(admin_user):
    campaign = budgeted(budget=2 * REWARD, cards=0)
    waiting = grant_reward(friend(campaign))
    Campaign.objects.filter(pk=campaign.pk).update(is_flagged_for_review=True)
    held = grant_reward(friend(campaign))
    assert (waiting.status, held.status) == ("pending_stock", "held")
    assert grant_reward(friend(campaign)) is None  # both count
    void_grant(held, reason="a test of the budget", actor=admin_user)
    Campaign.objects.filter(pk=campaign.pk).update(is_flagged_for_review=False)
    assert grant_reward(friend(campaign)) is not None  # the voided one's yuan are free again


@pytest.mark.django_db
def test_the_daily_limit_leaves_the_rest_for_a_later_day_and_the_sweep_grants_it():
    campaign = budgeted(daily_limit=REWARD)
    first, second = friend(campaign), friend(campaign)
    assert grant_reward(first) is not None
    assert grant_reward(second) is None
    assert not UnrewardedInvitation.objects.exists()  # not refused: waiting for tomorrow
    assert grant_missed_rewards().deferred == 1
    Grant.objects.update(created_at=Grant.objects.get().created_at - timedelta(days=1))
    swept = grant_missed_rewards()
    assert swept.issued == 1 and Grant.objects.filter(invitation=second).exists()


@pytest.mark.django_db
def test_staff_grant_over_the_budget_only_once_it_is_raised(admin_user):
    campaign = budgeted(budget=REWARD)
    grant_reward(friend(campaign))
    over = friend(campaign)
    assert grant_reward(over) is None
    record = UnrewardedInvitation.objects.get(invitation=over)

    with pytest.raises(StillOverBudget) as refused:
        grant_over_budget(record, reason="budget raised", actor=admin_user)
    assert "30" in str(refused.value)
    assert UnrewardedInvitation.objects.filter(pk=record.pk).exists()  # nothing changed

    Campaign.objects.filter(pk=campaign.pk).update(budget=2 * REWARD)
    grant = grant_over_budget(record, reason="marketing added 30 yuan", actor=admin_user)
    assert grant.status == "issued" and not UnrewardedInvitation.objects.exists()
    event = GrantEvent.objects.get(grant=grant, action="budget_granted")
    assert (event.actor, event.reason) == (admin_user, "marketing added 30 yuan")


@pytest.mark.django_db
def test_the_admin_action_asks_a_reason_and_says_why_it_refuses(admin_client):
    campaign = budgeted(budget=Decimal("10"))
    over = friend(campaign)
    grant_reward(over)
    record = UnrewardedInvitation.objects.get(invitation=over)
    page = admin_client.post(
        reverse("admin:rewards_unrewardedinvitation_changelist"),
        {
            "action": "grant_over_budget",
            "_selected_action": [record.pk],
            "apply": "1",
            "reason": "raised",
        },
        follow=True,
    )
    assert "10" in page.content.decode() and UnrewardedInvitation.objects.exists()


@pytest.mark.django_db
def test_staff_and_the_customer_are_told_in_plain_words(client):
    campaign = budgeted(budget=REWARD)
    grant_reward(friend(campaign))
    assert [f.subject for f in budget_spent(time_now())] == [f"campaign:{campaign.pk}"]
    assert budget_nearly_spent(time_now()) == []
    over = friend(campaign)
    grant_reward(over)
    client.force_login(over.inviter.user)
    page = client.get(reverse("rewards:home")).content.decode()
    assert "奖励已发完" in page or "rewards ran out" in page


@pytest.mark.django_db
def test_at_eighty_percent_staff_are_warned():
    campaign = budgeted(budget=5 * REWARD)
    for _ in range(3):
        grant_reward(friend(campaign))
    assert budget_nearly_spent(time_now()) == []  # 60%
    grant_reward(friend(campaign))
    [found] = budget_nearly_spent(time_now())  # 80%, and a fifth reward still fits
    assert "80%" in found.message and budget_spent(time_now()) == []
    grant_reward(friend(campaign))
    assert budget_nearly_spent(time_now()) == [] and len(budget_spent(time_now())) == 1


def time_now():
    from django.utils import timezone

    return timezone.now()


def race_for_the_budget(campaign: Campaign, batched: bool) -> Decimal:
    """Sixteen qualified friends granted by eight processes at once (one by one or in batches);
    what the campaign's live grants are worth afterwards, counted in SQL."""
    invitations = [friend(campaign) for _ in range(16)]
    start = time.time() + 6  # after every process has set Django up
    run_workers(
        "tests.rewards.workers.grant_at",
        [([i.pk for i in invitations[n::8]], start, batched) for n in range(8)],
        timeout=120,
    )
    value = "g.face_value + g.points * c.point_value"
    return scalar(
        f"""SELECT coalesce(sum({value}), 0) FROM rewards_grant g
            JOIN invitations_campaign c ON c.id = g.campaign_id
            WHERE g.status <> 'void' AND g.campaign_id = %s""",
        [campaign.pk],
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "in batches"])
def test_eight_processes_racing_for_the_last_yuan_never_overspend(batched):
    campaign = budgeted(budget=3 * REWARD + 10, cards=40)  # three rewards fit, not four
    spent = race_for_the_budget(campaign, batched)
    assert spent == 3 * REWARD
    assert scalar("SELECT count(*) FROM rewards_grant") == 3
    assert scalar("SELECT count(*) FROM rewards_unrewardedinvitation") == 13


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "in batches"])
@pytest.mark.parametrize("paid_in", ["card", "points"])
def test_eight_processes_paying_both_sides_never_overspend_nor_pay_one_side_alone(batched, paid_in):
    """A campaign that rewards the friend too (#32), in a 10-yuan card or in 200 points at 5 fen
    (points alone): an invitation costs both its sides, paid together or recorded over the
    budget together."""
    campaign = budgeted(budget=3 * (REWARD + 10) + 10, cards=40)  # three pairs fit, not four
    if paid_in == "card":
        friend_kind = CardKindFactory(code="JD10", name="JD 10", face_value=Decimal("10.00"))
        make_cards(friend_kind, 40, prefix="F")
        campaign.friend_card_kind = friend_kind
    else:
        campaign.friend_card_kind, campaign.friend_points = None, 200
    campaign.save()
    spent = race_for_the_budget(campaign, batched)
    assert spent == 3 * (REWARD + 10)
    assert scalar("SELECT count(*) FROM rewards_grant WHERE side = 'inviter'") == 3
    assert scalar("SELECT count(*) FROM rewards_grant WHERE side = 'friend'") == 3
    lone = """SELECT count(*) FROM (SELECT invitation_id FROM rewards_grant
              GROUP BY invitation_id HAVING count(*) <> 2) lone"""
    assert scalar(lone) == 0
    assert scalar("SELECT count(*) FROM rewards_unrewardedinvitation") == 13
    # each paid friend's points booked once (invariant 6)
    friends_points = scalar(
        """SELECT coalesce(sum(e.amount), 0) FROM rewards_pointsentry e
           JOIN rewards_grant g ON g.id = e.grant_id WHERE g.side = 'friend'"""
    )
    assert friends_points == (3 * 200 if paid_in == "points" else 0)


@pytest.mark.django_db
def test_staff_cannot_spend_past_the_budget_by_granting_again_or_a_dearer_kind(admin_user):
    from cardpool.models import CardKind
    from rewards.services import grant_again, replace_in_kind
    from tests.factories import CardKindFactory

    campaign = budgeted(budget=2 * REWARD)
    first = grant_reward(friend(campaign))
    void_grant(first, reason="checked: a mistake", actor=admin_user)
    grant_reward(friend(campaign))
    grant_reward(friend(campaign))  # the voided one's yuan spent again: at the budget
    with pytest.raises(StillOverBudget):
        grant_again(first, reason="the void was a mistake", actor=admin_user)
    assert Grant.objects.filter(invitation=first.invitation).count() == 1  # nothing changed

    dearer = CardKindFactory(code="JD50", face_value=Decimal("50.00"))
    make_cards(dearer, 1)
    live = Grant.objects.filter(status="issued").first()
    with pytest.raises(StillOverBudget):
        replace_in_kind(live, card_kind=dearer, reason="JD20 discontinued", actor=admin_user)
    live.refresh_from_db()
    assert live.status == "issued" and CardKind.objects.get(pk=dearer.pk).is_active

    Campaign.objects.filter(pk=campaign.pk).update(budget=3 * REWARD + 30)
    assert grant_again(first, reason="budget raised", actor=admin_user).status == "issued"
    replaced = replace_in_kind(live, card_kind=dearer, reason="JD20 discontinued", actor=admin_user)
    assert replaced.face_value == Decimal("50.00")


@pytest.mark.django_db
def test_a_refusal_over_the_days_limit_says_so(admin_user):
    campaign = budgeted(daily_limit=REWARD)
    first = grant_reward(friend(campaign))
    void_grant(first, reason="checked", actor=admin_user)
    grant_reward(friend(campaign))  # today's limit spent again
    from rewards.services import grant_again

    with pytest.raises(StillOverBudget) as refused:
        grant_again(first, reason="the void was a mistake", actor=admin_user)
    assert "today" in str(refused.value) or "今天" in str(refused.value)
