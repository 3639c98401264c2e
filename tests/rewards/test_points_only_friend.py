"""A friend rewarded in points alone (#32): a grant without a card kind, issued as it is made
(no card to wait for), its points booked to the friend once and reversed once; nothing a card
needs (reveal, report, reissue, stock) is asked of it, and it counts against the budget."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from cardpool.models import Card
from invitations.models import Customer
from notifications.models import Message
from notifications.texts import text
from rewards.exceptions import PointsOnly
from rewards.models import Grant, PointsEntry
from rewards.selectors import points_balance
from rewards.services import (
    grant_again,
    grant_reward,
    grant_rewards,
    reissue_grant,
    release_hold,
    void_grant,
)
from rewards.services.reconciliation import reconcile
from rewards.services.staff import replace_in_kind
from tests.factories import CampaignFactory, CustomerFactory, make_cards, qualified_invitation
from tests.rewards.campaign_form import edit

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    campaign = CampaignFactory(friend_card_kind=None, friend_points=300)
    make_cards(campaign.card_kind, 10)
    return campaign


def friend_grant(invitation) -> Grant:
    return Grant.objects.get(invitation=invitation, side=Grant.Side.FRIEND)


@pytest.mark.parametrize("path", ["one", "batch"])
def test_the_friend_gets_points_at_once_and_no_card(campaign, path):
    invitation = qualified_invitation(campaign=campaign)

    grant_reward(invitation) if path == "one" else grant_rewards([invitation.pk])

    grant = friend_grant(invitation)
    friend = Customer.objects.get(phone=invitation.invitee_phone)
    assert (grant.status, grant.card, grant.card_kind, grant.points) == ("issued", None, None, 300)
    assert grant.face_value == 0 and grant.issued_at is not None
    assert points_balance(friend) == 300
    assert Card.objects.filter(status=Card.Status.ASSIGNED).count() == 1  # the inviter's only
    [told] = Message.objects.filter(recipient=friend.user)
    assert (
        text(told.kind, told.params, "zh-hans") == "您通过好友邀请开户，新人奖励已到账：300 积分。"
    )
    assert reconcile().is_ok


def test_a_held_points_reward_is_released_voided_and_granted_again_once_each(campaign, admin_user):
    campaign.is_flagged_for_review = True
    campaign.save()
    invitation = qualified_invitation(campaign=campaign)
    grant_reward(invitation)
    held = friend_grant(invitation)
    friend = held.inviter
    assert held.status == "held" and points_balance(friend) == 0

    released = release_hold(held, actor=admin_user, reason="checked")
    assert released.status == "issued" and points_balance(friend) == 300

    void_grant(released, reason="opened for the reward only", actor=admin_user)
    assert points_balance(friend) == 0
    again = grant_again(Grant.objects.get(pk=released.pk), reason="our mistake", actor=admin_user)
    assert (again.status, again.card, again.points) == ("issued", None, 300)
    assert points_balance(friend) == 300
    kinds = PointsEntry.objects.filter(customer=friend).values_list("kind", "amount")
    assert sorted(kinds) == [("reversal", -300), ("reward", 300), ("reward", 300)]


def test_a_points_reward_has_no_card_to_reissue_show_or_report(campaign, admin_user, client):
    invitation = qualified_invitation(campaign=campaign)
    grant_reward(invitation)
    grant = friend_grant(invitation)

    with pytest.raises(PointsOnly):
        reissue_grant(grant, reason="card does not work", actor=admin_user)
    with pytest.raises(PointsOnly):
        replace_in_kind(grant, card_kind=campaign.card_kind, reason="a card", actor=admin_user)
    assert Grant.objects.get(pk=grant.pk).status == "issued"
    assert Grant.objects.filter(invitation=invitation, side="friend").count() == 1

    client.force_login(grant.inviter.user)
    page = client.get(reverse("rewards:my_rewards")).content.decode()
    assert "300 学习积分" in page and "积分已计入您的积分账户。" in page
    assert "· 300 积分" not in page  # said once, in its title
    assert reverse("rewards:reveal_card", args=[grant.grant_no]) not in page
    shown = client.post(reverse("rewards:reveal_card", args=[grant.grant_no]), follow=True)
    assert "只含积分" in shown.content.decode()
    report = client.get(reverse("rewards:report_card", args=[grant.grant_no]))
    assert report.status_code == 302


def test_the_database_refuses_a_points_only_grant_without_points_or_with_a_card(campaign):
    invitation = qualified_invitation(campaign=campaign)
    grant_reward(invitation)
    grant = friend_grant(invitation)
    card = Card.objects.filter(status="available").first()
    for change in ({"points": 0}, {"card": card}, {"status": "pending_stock", "issued_at": None}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Grant.objects.filter(pk=grant.pk).update(**change)


def test_the_budget_counts_the_friends_points(campaign):
    # the inviter's 20 yuan + 100 points, the friend's 300 points, a point at 0.01 yuan: 24 yuan
    campaign.budget, campaign.point_value = Decimal("23.99"), Decimal("0.01")
    campaign.save()
    assert grant_reward(qualified_invitation(campaign=campaign)) is None
    campaign.budget = Decimal("24.00")
    campaign.save()
    assert grant_reward(qualified_invitation(campaign=campaign)).status == "issued"
    assert Grant.objects.count() == 2


def test_pages_tell_both_of_the_friends_points(campaign, client):
    inviter = CustomerFactory()
    client.force_login(inviter.user)
    home = client.get(reverse("rewards:home")).content.decode()
    assert "好友开户达标后，也将获得 300 学习积分。" in home
    client.logout()
    landing = client.get(reverse("invitations:landing", args=[inviter.invite_code]))
    assert "您也将获得 300 学习积分作为新人奖励" in landing.content.decode()


def test_staff_set_points_alone_for_the_friend(admin_client):
    other = CampaignFactory()
    response = edit(
        admin_client, other, friend_card_kind="", friend_points="200", terms_reason="welcome"
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    other.refresh_from_db()
    assert (other.friend_card_kind, other.friend_points) == (None, 200)
