"""Invariant 5 with the cap in force when each grant was earned (stored on the grant).

The hole: lowering a running campaign's cap below what an inviter already held was accepted
silently; detection then reported a critical breach, paused the whole campaign and held
unrelated inviters' rewards. Through the admin's campaign form, then the detection schedule's
code and reconciliation."""

import pytest

from invitations.models import Campaign
from rewards.models import Anomaly, AnomalyRule, Grant
from rewards.services import grant_reward
from rewards.services.detection import detect_anomalies
from rewards.services.reconciliation import reconcile
from tests.factories import CampaignFactory, CustomerFactory, make_cards, qualified_invitation
from tests.rewards.campaign_form import edit

pytestmark = pytest.mark.django_db


def change_cap(client, campaign: Campaign, cap: int, **extra):
    return edit(client, campaign, max_rewards_per_inviter=cap, terms_reason="cap lowered", **extra)


def test_a_cap_lowered_later_makes_no_past_grant_a_breach_and_pauses_nothing(admin_client):
    campaign = CampaignFactory(max_rewards_per_inviter=5)
    make_cards(campaign.card_kind, 10)
    busy, other = CustomerFactory(), CustomerFactory()
    for _ in range(3):
        grant_reward(qualified_invitation(campaign=campaign, inviter=busy))
    grant_reward(qualified_invitation(campaign=campaign, inviter=other))

    # the form says how many inviters already hold more, and saves nothing until confirmed
    asked = change_cap(admin_client, campaign, 1)
    assert asked.status_code == 200
    assert "已有 1 位邀请人在本活动中持有超过 1 份奖励" in asked.content.decode()
    campaign.refresh_from_db()
    assert campaign.max_rewards_per_inviter == 5
    saved = change_cap(admin_client, campaign, 1, confirm_lower_cap="on")
    assert saved.status_code == 302
    campaign.refresh_from_db()
    assert campaign.max_rewards_per_inviter == 1

    run = detect_anomalies()

    assert Anomaly.objects.filter(kind=AnomalyRule.INVITER_OVER_CAP).count() == 0
    assert run.paused_campaigns == [] and not Campaign.objects.get(pk=campaign.pk).is_paused
    assert reconcile().is_ok
    # the new cap holds for what is earned from now on
    assert grant_reward(qualified_invitation(campaign=campaign, inviter=other)) is None
    assert grant_reward(qualified_invitation(campaign=campaign, inviter=busy)) is None
    assert Grant.objects.live().count() == 4


def test_raising_the_cap_asks_nothing(admin_client):
    campaign = CampaignFactory(max_rewards_per_inviter=1)
    make_cards(campaign.card_kind, 1)
    grant_reward(qualified_invitation(campaign=campaign))

    assert change_cap(admin_client, campaign, 3).status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).max_rewards_per_inviter == 3
