"""Campaigns that reward the invited friend too, and ladders that pay an inviter's later friends
on other terms (#32): invariant 2 per side, invariant 5 on the inviter's side only, invariant 17
with the ladder's place stored on the grant."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from cardpool.exceptions import KindSwitchedOff
from cardpool.models import CardKind
from invitations import ladder
from invitations.models import CampaignEvent, Customer, Invitation
from invitations.phones import erased_phone
from invitations.services.campaigns import change_campaign
from notifications.models import Message
from notifications.texts import text
from rewards.models import Grant, UnrewardedInvitation
from rewards.selectors import invitation_counts, points_balance
from rewards.services import grant_again, grant_reward, grant_rewards, reissue_grant, void_grant
from rewards.services.reconciliation import reconcile
from rewards.services.staff import grant_over_budget
from tests.factories import (
    CampaignFactory,
    CardKindFactory,
    CustomerFactory,
    make_cards,
    qualified_invitation,
)
from tests.rewards.campaign_form import edit

pytestmark = pytest.mark.django_db


@pytest.fixture
def kinds():
    jd20 = CardKindFactory()
    jd10 = CardKindFactory(code="JD10", name="JD 10", face_value=Decimal("10.00"))
    jd50 = CardKindFactory(code="JD50", name="JD 50", face_value=Decimal("50.00"))
    for kind in (jd20, jd10, jd50):
        make_cards(kind, 20, prefix=kind.code)
    return {"JD20": jd20, "JD10": jd10, "JD50": jd50}


def two_sided(kinds, **terms):
    return CampaignFactory(
        card_kind=kinds["JD20"], friend_card_kind=kinds["JD10"], friend_points=30, **terms
    )


def sides(invitation) -> dict:
    return {grant.side: grant for grant in Grant.objects.filter(invitation=invitation)}


def test_both_sides_are_paid_once_and_the_friend_becomes_a_customer(kinds):
    campaign = two_sided(kinds)
    invitation = qualified_invitation(campaign=campaign)

    first = grant_reward(invitation)
    again = grant_reward(invitation)
    grant_rewards([invitation.pk])

    made = sides(invitation)
    assert first == again == made["inviter"] and Grant.objects.count() == 2
    friend = Customer.objects.get(phone=invitation.invitee_phone)
    assert (made["friend"].inviter, made["friend"].status) == (friend, "issued")
    assert (made["friend"].card.kind, made["friend"].face_value) == (kinds["JD10"], 10)
    assert (made["inviter"].place, made["friend"].place) == (1, None)
    assert points_balance(friend) == 30 and points_balance(invitation.inviter) == 100
    assert not friend.user.has_usable_password()  # they sign in with a code, as every customer


def test_a_friend_who_is_a_customer_already_is_paid_as_that_customer(kinds):
    friend = CustomerFactory(phone="15900000001")
    invitation = qualified_invitation(campaign=two_sided(kinds), invitee_phone=friend.phone)

    grant_reward(invitation)

    assert sides(invitation)["friend"].inviter == friend
    assert Customer.objects.filter(phone=friend.phone).count() == 1


def test_a_campaign_for_the_inviter_only_pays_no_friend(kinds):
    invitation = qualified_invitation(campaign=CampaignFactory(card_kind=kinds["JD20"]))
    grant_reward(invitation)
    assert list(sides(invitation)) == ["inviter"]
    assert not Customer.objects.filter(phone=invitation.invitee_phone).exists()


def test_the_friend_is_paid_when_the_inviter_is_over_the_cap_and_the_cap_counts_inviters_only(
    kinds,
):
    campaign = two_sided(kinds, max_rewards_per_inviter=1)
    inviter = CustomerFactory()
    first, second = (qualified_invitation(campaign=campaign, inviter=inviter) for _ in range(2))
    grant_reward(first)

    assert grant_reward(second) is None  # the inviter's side: over the cap, recorded
    assert UnrewardedInvitation.objects.get().invitation == second
    assert list(sides(second)) == ["friend"]
    # the friend, inviting in turn, has their own cap: their friend's reward is not counted in it
    friend = Customer.objects.get(phone=second.invitee_phone)
    theirs = qualified_invitation(campaign=campaign, inviter=friend)
    assert grant_reward(theirs).side == "inviter"
    assert invitation_counts(friend, campaign).rewarded == 1
    assert reconcile().is_ok


def test_the_database_refuses_a_second_live_or_automatic_grant_on_one_side(kinds):
    invitation = qualified_invitation(campaign=two_sided(kinds))
    grant_reward(invitation)
    friend = sides(invitation)["friend"]
    row = {
        "invitation": invitation,
        "inviter": friend.inviter,
        "campaign": friend.campaign,
        "card_kind": friend.card_kind,
        "face_value": 10,
        "points": 0,
        "cap": 1,
        "side": "friend",
        "status": "pending_stock",
    }
    with pytest.raises(IntegrityError, match="grant_one_live_per_side"), transaction.atomic():
        Grant.objects.create(grant_no="RG-TWICE", origin="reissue", **row)
    Grant.objects.filter(pk=friend.pk).update(status="void")  # as a raw "fix" would
    with pytest.raises(IntegrityError, match="grant_one_automatic_per_side"), transaction.atomic():
        Grant.objects.create(grant_no="RG-AGAIN", origin="automatic", **row)
    with pytest.raises(IntegrityError, match="grant_place_on_inviters_side"), transaction.atomic():
        Grant.objects.create(grant_no="RG-PLACE", origin="reissue", place=2, **row)


LADDER = "3 JD50 500\n5 JD10 1000"


def laddered(kinds, **terms):
    steps = ladder.parse(LADDER, kinds)
    return CampaignFactory(card_kind=kinds["JD20"], points=100, ladder=steps, **terms)


@pytest.mark.parametrize("path", ["single", "batch"])
def test_each_friend_is_paid_on_the_step_of_their_place(kinds, path):
    campaign = laddered(kinds)
    inviter = CustomerFactory()
    invitations = [qualified_invitation(campaign=campaign, inviter=inviter) for _ in range(6)]

    if path == "single":
        for invitation in invitations:
            grant_reward(invitation)
    else:
        grant_rewards([invitation.pk for invitation in invitations])

    paid = list(Grant.objects.order_by("place").values_list("place", "card_kind__code", "points"))
    assert paid == [
        (1, "JD20", 100),
        (2, "JD20", 100),
        (3, "JD50", 500),
        (4, "JD50", 500),
        (5, "JD10", 1000),
        (6, "JD10", 1000),
    ]


def test_a_voided_reward_keeps_its_place_and_a_reissue_or_grant_again_too(kinds, admin_user):
    campaign = laddered(kinds, max_rewards_per_inviter=4)
    inviter = CustomerFactory()
    invitations = [qualified_invitation(campaign=campaign, inviter=inviter) for _ in range(4)]
    made = [grant_reward(invitation) for invitation in invitations[:3]]
    void_grant(made[1], reason="fraud", actor=admin_user)

    fourth = grant_reward(invitations[3])  # the next place, not the voided 2nd
    reissued = reissue_grant(made[2], reason="card broken", actor=admin_user)
    again = grant_again(Grant.objects.get(pk=made[1].pk), reason="mistake", actor=admin_user)

    assert (fourth.place, fourth.card_kind.code, fourth.points) == (4, "JD50", 500)
    assert (reissued.place, reissued.card_kind.code, reissued.side) == (3, "JD50", "inviter")
    assert (again.place, again.card_kind.code) == (2, "JD20")


def test_the_budget_counts_both_sides_and_pays_them_together(kinds, admin_user):
    # the inviter's 20 + 100 points at 0.01 fits 25 yuan; with the friend's 10 + 0.3 it does not
    campaign = two_sided(kinds, budget=Decimal("25"), point_value=Decimal("0.01"))
    invitation = qualified_invitation(campaign=campaign)

    assert grant_reward(invitation) is None
    assert Grant.objects.count() == 0
    record = UnrewardedInvitation.objects.get(invitation=invitation, reason="over_budget")

    campaign.budget = Decimal("31.30")
    campaign.save()
    grant_over_budget(record, reason="budget raised", actor=admin_user)
    assert sorted(sides(invitation)) == ["friend", "inviter"]


def test_an_erased_friend_earns_nothing_and_the_inviter_is_paid(kinds):
    invitation = qualified_invitation(campaign=two_sided(kinds))
    Invitation.objects.filter(pk=invitation.pk).update(
        invitee_phone=erased_phone(invitation.invitee_phone), phone_erased_at=invitation.invited_at
    )
    grant_reward(invitation)
    assert list(sides(invitation)) == ["inviter"]


def test_the_invariant_rules_read_each_side_apart(kinds, admin_user):
    campaign = two_sided(kinds, max_rewards_per_inviter=1)
    invitation = qualified_invitation(campaign=campaign)
    grant_reward(invitation)
    void_grant(sides(invitation)["inviter"], reason="fraud", actor=admin_user)
    run = reconcile()
    assert run.is_ok, run.report["breaches"]
    assert run.report["counts"]["inviters_against_cap"] == {}  # the friend's grant is no cap


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3 JD50", "Line 1: write three things"),
        ("1 JD50 5", "Line 1: “1” is not a friend's number from 2 to 10,000."),
        ("3 JD50 -5", "is not a number of points"),
        ("3 JD50 500\n3 JD10 5", "Line 2: steps go up: friend 3 comes after 3."),
        ("3 XX 5", "Line 1: there is no card kind “XX”."),
        ("３ JD50 5", "is not a friend's number"),
    ],
)
def test_a_ladder_written_wrong_is_refused_naming_the_line(kinds, text, message):
    with translation.override("en"), pytest.raises(ladder.LadderError, match=message):
        ladder.parse(text, kinds)


def test_a_ladder_reads_back_as_written(kinds):
    steps = ladder.parse("3 jd50 500\n\n5, JD10, 1000\n", kinds)
    codes = {kind.pk: code for code, kind in kinds.items()}
    assert ladder.as_text(steps, codes) == "3 JD50 500\n5 JD10 1000"
    assert ladder.next_step(steps, 2).start == 3 and ladder.next_step(steps, 5) is None


def test_staff_set_a_ladder_and_the_friends_reward_on_the_record(admin_client, kinds):
    campaign = CampaignFactory(card_kind=kinds["JD20"])  # started yesterday

    refused = edit(admin_client, campaign, ladder="3 JD50 500\n2 JD10 5", terms_reason="tiers")
    page = refused.content.decode()
    assert refused.status_code == 200 and "第 2 行" in page
    assert "3 JD50 500\n2 JD10 5" in page  # what staff wrote stays in the form

    saved = edit(
        admin_client,
        campaign,
        ladder="3 jd50 500",
        friend_card_kind=kinds["JD10"].pk,
        friend_points=30,
        terms_reason="spring campaign: both sides, a ladder",
    )

    assert saved.status_code == 302
    campaign.refresh_from_db()
    assert campaign.ladder == [{"from": 3, "card_kind": kinds["JD50"].pk, "points": 500}]
    [event] = CampaignEvent.objects.filter(campaign=campaign, action="terms_changed")
    assert event.details["changes"] == {
        "ladder": ["", "3 JD50 500"],
        "friend_card_kind": [None, "JD10 (10.00)"],
        "friend_points": [0, 30],
    }
    assert edit(admin_client, campaign).status_code == 302  # saved untouched: nothing changes
    assert CampaignEvent.objects.filter(campaign=campaign, action="terms_changed").count() == 1


def test_a_ladder_on_a_switched_off_kind_is_refused(admin_client, kinds):
    campaign = CampaignFactory(card_kind=kinds["JD20"])
    CardKind.objects.filter(code="JD50").update(is_active=False)
    refused = edit(admin_client, campaign, ladder="3 JD50 500", terms_reason="tiers")
    assert "第 1 行：卡种 JD50 已停用。" in refused.content.decode()
    with pytest.raises(KindSwitchedOff):
        change_campaign(
            campaign, values={"friend_card_kind": kinds["JD50"]}, reason="x", actor=None
        )


def test_the_inviter_sees_the_ladder_and_the_next_step_and_the_friend_their_reward(client, kinds):
    campaign = laddered(kinds, friend_card_kind=kinds["JD10"], friend_points=30)
    inviter = CustomerFactory()
    friends = [qualified_invitation(campaign=campaign, inviter=inviter) for _ in range(2)]
    for invitation in friends:
        grant_reward(invitation)

    client.force_login(inviter.user)
    page = client.get(reverse("rewards:home")).content.decode()
    assert "自第 3 位好友起：每位 50 元礼品卡 及 500 学习积分" in page
    assert "自第 5 位好友起：每位 10 元礼品卡 及 1000 学习积分" in page
    assert "好友开户达标后，也将获得一张 10 元礼品卡。 另有 30 学习积分。" in page
    assert "再有 1 位好友开户，即可为您带来一张 50 元礼品卡 及 500 学习积分</p>" in page
    rewards = client.get(reverse("rewards:my_rewards")).content.decode()
    assert "第 2 位好友的奖励。" in rewards and "新人奖励" not in rewards

    friend = Customer.objects.get(phone=friends[0].invitee_phone)
    client.force_login(friend.user)
    rewards = client.get(reverse("rewards:my_rewards")).content.decode()
    assert "新人奖励：您通过好友邀请开户。" in rewards and "JD 10" in rewards
    assert "好友的奖励" not in rewards  # the inviter's rewards are not theirs (invariant 10)


def test_the_friend_is_told_of_their_welcome_reward_not_of_a_friend_who_opened(kinds):
    invitation = qualified_invitation(campaign=two_sided(kinds))
    grant_reward(invitation)
    friend = Customer.objects.get(phone=invitation.invitee_phone)
    [told] = Message.objects.filter(recipient=friend.user)
    assert told.params["side"] == "friend"
    assert text(told.kind, told.params, "zh-hans").startswith("您通过好友邀请开户")
    [inviter_told] = Message.objects.filter(recipient=invitation.inviter.user)
    assert text(inviter_told.kind, inviter_told.params, "zh-hans").startswith("好友已开户")


def test_a_kind_a_friend_or_a_ladder_step_is_paid_in_is_neither_switched_off_nor_deleted(
    kinds, admin_user
):
    from rewards.exceptions import KindInUse
    from rewards.services.card_kinds import switch_kind

    laddered(kinds, friend_card_kind=kinds["JD10"])  # JD50 on the ladder, JD10 the friend's
    for code in ("JD50", "JD10"):
        with pytest.raises(KindInUse):
            switch_kind(kinds[code], is_active=False, reason="retired", actor=admin_user)
    from django.contrib import admin as django_admin

    kind_admin = django_admin.site._registry[CardKind]
    assert not kind_admin.has_delete_permission(None, kinds["JD50"])


def test_the_budget_alert_prices_the_next_friend_as_the_grant_path_does(kinds):
    from rewards.anomalies.money import next_reward_value

    campaign = laddered(kinds, friend_card_kind=kinds["JD10"], friend_points=30)
    campaign.point_value = Decimal("0.01")
    faces = {kind.pk: kind.face_value for kind in kinds.values()}
    # the dearest inviter's terms (JD50 + 500 points = 55) and the friend's (10 + 0.30)
    assert next_reward_value(campaign, faces) == Decimal("65.30")


def test_an_inviter_at_the_cap_is_not_promised_the_next_step(client, kinds):
    campaign = laddered(kinds, max_rewards_per_inviter=2)
    inviter = CustomerFactory()
    for _ in range(2):
        grant_reward(qualified_invitation(campaign=campaign, inviter=inviter))
    client.force_login(inviter.user)
    page = client.get(reverse("rewards:home")).content.decode()
    assert 'id="next-step"' not in page


def test_a_batch_counts_both_sides_of_each_invitation_against_the_budget(kinds):
    # each invitation: the inviter's 20 + 1 and the friend's 10 + 0.30 = 31.30; two fit
    campaign = two_sided(kinds, budget=Decimal("70"), point_value=Decimal("0.01"))
    invitations = [qualified_invitation(campaign=campaign) for _ in range(5)]

    grant_rewards([invitation.pk for invitation in invitations])

    assert Grant.objects.filter(side="inviter").count() == 2
    assert Grant.objects.filter(side="friend").count() == 2
    assert UnrewardedInvitation.objects.filter(reason="over_budget").count() == 3


def test_the_grant_rate_spike_counts_the_inviters_side(kinds, settings):
    from rewards.anomalies.fraud import grant_rate_spike

    settings.ANOMALY_THRESHOLDS = {
        **settings.ANOMALY_THRESHOLDS,
        "grant_spike_min": 1,
        "grant_spike_factor": 1,
    }
    campaign = two_sided(kinds)
    invitations = [qualified_invitation(campaign=campaign) for _ in range(6)]
    for invitation in invitations:
        grant_reward(invitation)
    with connection.cursor() as cursor:  # half the inviters' rewards three days ago
        cursor.execute(
            """UPDATE rewards_grant SET created_at = now() - interval '3 days'
               WHERE side = 'inviter' AND invitation_id = ANY(%s)""",
            [[invitation.pk for invitation in invitations[:3]]],
        )

    [found] = grant_rate_spike.find(timezone.now())

    assert found.details["last_hour"] == 3  # the friends' six are not counted
