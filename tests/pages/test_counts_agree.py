"""One set of words and numbers for each state of a reward, on every page (#31, item 6).

The hole: while rewards waited for stock, /me/ said "rewarded 5" and "opened, rewarded" for all
five friends; /me/rewards/ listed two as on their way "· 200 points" each, while the balance was
600, not 1000. Through the customer's pages."""

import re

import pytest
from django.urls import reverse

from rewards.services import grant_reward
from tests.factories import CampaignFactory, CustomerFactory, make_cards, qualified_invitation

pytestmark = pytest.mark.django_db


def test_rewards_waiting_for_a_card_say_so_everywhere_and_points_shown_are_points_credited(
    client,
):
    campaign = CampaignFactory(points=200)
    make_cards(campaign.card_kind, 3)
    customer = CustomerFactory(phone="13800138000")
    for _ in range(5):
        grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    client.force_login(customer.user)

    home = client.get(reverse("rewards:home")).content.decode()
    rewards = client.get(reverse("rewards:my_rewards")).content.decode()
    points = client.get(reverse("rewards:my_points")).content.decode()

    counts = dict(re.findall(r"<dt>(.*?)</dt><dd>(\d+)</dd>", home))
    assert (counts["已奖励"], counts["发放中"]) == ("3", "2")
    assert home.count("已开户，已奖励") == 3 and home.count("已开户，奖励发放中") == 2
    assert rewards.count("发放中") == 2
    credited = re.findall(r"· (\d+) 积分(?!随卡)", rewards)
    assert sum(map(int, credited)) == 600
    assert rewards.count("200 积分随卡到账") == 2
    assert re.search(r'id="points-balance">\s*600\s*<', points)


def test_a_card_shows_the_kind_and_value_it_was_earned_in_after_the_campaign_moved_on(client):
    from decimal import Decimal

    from django.utils import timezone

    from invitations.services.campaigns import change_campaign
    from rewards.reauth import SESSION_KEY
    from tests.factories import CardKindFactory

    campaign = CampaignFactory(points=200)
    make_cards(campaign.card_kind, 1)
    customer = CustomerFactory(phone="13800138000")
    grant = grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    jd50 = CardKindFactory(code="JD50", name="京东 E 卡 50 元", face_value=Decimal("50.00"))
    change_campaign(campaign, values={"card_kind": jd50}, reason="new kind", actor=None)
    client.force_login(customer.user)
    session = client.session
    session[SESSION_KEY] = timezone.now().isoformat()  # the password was asked just now
    session.save()

    card = client.post(reverse("rewards:reveal_card", args=[grant.grant_no])).content.decode()

    assert "面值 20 元" in card and "JD e-card 20 yuan" in card
    assert "50" not in re.search(r"<h1>(.*?)</h1>", card).group(1)
