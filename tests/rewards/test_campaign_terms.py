"""Invariant 17 from the staff side: a started campaign's terms change only on the record.

The hole: staff changed points, card kind, cap and window of a running campaign in the admin
with no reason asked and no campaign event, the old values lost. Through the admin's campaign
form, as staff use it; the grants through the grant path and the fulfilment schedule's code."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cardpool.models import CardKind
from invitations.models import Campaign, CampaignEvent
from rewards.models import Grant
from rewards.services import fulfil_pending_grants, grant_reward
from tests.factories import CampaignFactory, CardKindFactory, make_cards, qualified_invitation
from tests.rewards.campaign_form import edit

pytestmark = pytest.mark.django_db


def terms_events(campaign: Campaign):
    return CampaignEvent.objects.filter(
        campaign=campaign, action=CampaignEvent.Action.TERMS_CHANGED
    )


def test_a_started_campaigns_terms_change_only_with_a_reason_recorded_with_old_and_new(
    admin_client,
):
    campaign = CampaignFactory(points=200)  # JD20, started yesterday
    jd50 = CardKindFactory(code="JD50", name="JD 50", face_value=Decimal("50.00"))
    make_cards(jd50, 5)
    waiting = grant_reward(qualified_invitation(campaign=campaign))  # no JD20 stock: waits
    assert waiting.status == Grant.Status.PENDING_STOCK

    refused = edit(admin_client, campaign, card_kind=jd50.pk, points=500)

    assert refused.status_code == 200
    assert "本活动已开始：请说明修改条款的原因" in refused.content.decode()
    campaign.refresh_from_db()
    assert (campaign.card_kind_id, campaign.points) != (jd50.pk, 500)
    assert not terms_events(campaign).exists()

    saved = edit(
        admin_client, campaign, card_kind=jd50.pk, points=500, terms_reason="JD20 discontinued"
    )

    assert saved.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.card_kind_id, campaign.points) == (jd50.pk, 500)
    [event] = terms_events(campaign)
    assert event.reason == "JD20 discontinued" and event.actor.username == "admin"
    assert event.details == {
        "changes": {
            "card_kind": ["JD20 (20.00)", "JD50 (50.00)"],
            "face_value": ["20.00", "50.00"],
            "points": [200, 500],
        }
    }
    # the campaign's page states the effect, counting the reward earned before
    page = admin_client.get(reverse("admin:invitations_campaign_change", args=[campaign.pk]))
    text = page.content.decode()
    assert "JD20 discontinued" in text and "200 → 500" in text
    assert "之前获得的 1 份奖励保持原条款（其中 1 份仍在等待卡或审核）" in text
    # the desk counts it, linking to the events
    desk = admin_client.get(reverse("admin:index")).content.decode()
    assert "?action__exact=terms_changed" in desk

    # the reward earned before is paid on its terms when JD20 stock arrives; a new one on the new
    make_cards(campaign.card_kind.__class__.objects.get(code="JD20"), 1)
    fulfil_pending_grants()
    waiting.refresh_from_db()
    assert (waiting.status, waiting.card.kind.code, waiting.face_value, waiting.points) == (
        Grant.Status.ISSUED,
        "JD20",
        Decimal("20.00"),
        200,
    )
    new = grant_reward(qualified_invitation(campaign=campaign))
    assert (new.card.kind.code, new.face_value, new.points) == ("JD50", Decimal("50.00"), 500)


def test_a_campaign_not_started_yet_is_edited_freely(admin_client):
    campaign = CampaignFactory(
        starts_at=timezone.now() + timezone.timedelta(days=2),
        ends_at=timezone.now() + timezone.timedelta(days=30),
    )

    assert edit(admin_client, campaign, points=300).status_code == 302

    assert Campaign.objects.get(pk=campaign.pk).points == 300
    assert not terms_events(campaign).exists()


def test_a_name_or_rules_edit_needs_no_reason_and_keeps_the_window_to_the_second(admin_client):
    campaign = CampaignFactory()  # starts and ends at a time with seconds, as made in code
    assert campaign.starts_at.second or campaign.starts_at.microsecond

    assert edit(admin_client, campaign, name="Spring", rules="Open by May").status_code == 302

    saved = Campaign.objects.get(pk=campaign.pk)
    assert saved.name == "Spring"
    assert (saved.starts_at, saved.ends_at) == (campaign.starts_at, campaign.ends_at)
    assert not terms_events(campaign).exists()


def test_a_window_moved_is_recorded_in_local_time(admin_client):
    campaign = CampaignFactory(
        ends_at=timezone.make_aware(timezone.datetime(2027, 2, 3, 19, 0, 17))
    )

    edit(admin_client, campaign, ends_at_0="2027-03-01", ends_at_1="20:00", terms_reason="longer")

    [event] = terms_events(campaign)
    assert event.details["changes"] == {"ends_at": ["2027-02-03 19:00:17", "2027-03-01 20:00:00"]}


def test_a_campaign_is_not_moved_onto_a_kind_switched_off_and_is_warned_of_one_without_stock(
    admin_client,
):
    campaign = CampaignFactory()
    off = CardKindFactory(code="OLD10", name="old", face_value=Decimal("10.00"), is_active=False)
    empty = CardKindFactory(code="JD100", name="JD 100", face_value=Decimal("100.00"))

    refused = edit(admin_client, campaign, card_kind=off.pk, terms_reason="try")
    assert refused.status_code == 200
    assert "卡种 OLD10 已停用" in refused.content.decode()

    warned = edit(admin_client, campaign, card_kind=empty.pk, terms_reason="bigger rewards")
    assert warned.status_code == 200
    assert "卡种 JD100 现在没有可发放的卡" in warned.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).card_kind.code == "JD20"

    confirmed = edit(
        admin_client,
        campaign,
        card_kind=empty.pk,
        terms_reason="bigger rewards",
        confirm_kind_without_stock="on",
    )
    assert confirmed.status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).card_kind.code == "JD100"
    assert CardKind.objects.get(code="JD100").is_active
