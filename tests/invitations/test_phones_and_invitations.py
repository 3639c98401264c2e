from datetime import timedelta

import pytest
from django.utils import timezone

from invitations import exceptions as refusals
from invitations.models import CampaignState, Invitation
from invitations.phones import INVALID_PHONE, PHONE_NOT_DIGITS, InvalidPhone, normalize_phone
from invitations.services import create_invitation, register_customer
from tests.factories import CampaignFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "raw",
    ["13800138000", "+86 138 0013 8000", "138-0013-8000", "0086 13800138000", "8613800138000"],
)
def test_phone_numbers_are_normalized(raw):
    assert normalize_phone(raw) == "13800138000"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        *((raw, INVALID_PHONE) for raw in ["", "1380013800", "23800138000", "138001380001"]),
        ("+1 415 555 0100", INVALID_PHONE),
        ("abc", PHONE_NOT_DIGITS),  # tests/invitations/test_unicode_phones.py: every other script
    ],
)
def test_bad_phone_numbers_are_refused(raw, message):
    with pytest.raises(InvalidPhone) as refused:
        normalize_phone(raw)
    assert str(refused.value) == message


def test_register_customer_gives_an_invite_code_and_refuses_a_taken_phone():
    customer = register_customer("+86 138 0013 8000", "a-long-password")
    assert customer.phone == "13800138000" and len(customer.invite_code) == 10
    assert customer.user.check_password("a-long-password")
    with pytest.raises(refusals.PhoneTaken):
        register_customer("13800138000", "another-password")


def test_an_invitation_is_created_pending_and_due_soon():
    campaign = CampaignFactory(qualification_days=7)
    inviter = CustomerFactory()
    invitation = create_invitation(inviter, "+86 159 0000 0001", channel="wechat")
    assert (invitation.status, invitation.invitee_phone, invitation.channel) == (
        "pending",
        "15900000001",
        "wechat",
    )
    assert invitation.campaign == campaign
    assert invitation.qualify_by - invitation.invited_at == pytest.approx(
        timedelta(days=7), abs=timedelta(seconds=1)
    )
    assert invitation.next_check_at > timezone.now()


def expect_refusal(error_class, message, *args, **kwargs):
    before = Invitation.objects.count()
    with pytest.raises(error_class) as refused:
        create_invitation(*args, **kwargs)
    assert str(refused.value) == message
    assert Invitation.objects.count() == before


def test_refusals_each_say_why_and_create_nothing():
    inviter = CustomerFactory(phone="13700000001")
    expect_refusal(refusals.NoRunningCampaign, refusals.NO_RUNNING_CAMPAIGN, inviter, "15900000001")
    campaign = CampaignFactory()
    expect_refusal(refusals.SelfInvitation, refusals.SELF_INVITATION, inviter, "137 0000 0001")
    CustomerFactory(phone="13700000002")
    expect_refusal(refusals.AlreadyACustomer, refusals.ALREADY_A_CUSTOMER, inviter, "13700000002")
    create_invitation(inviter, "15900000001")
    expect_refusal(
        refusals.DuplicateInvitation,
        refusals.DUPLICATE_INVITATION,
        CustomerFactory(),
        "15900000001",
    )
    campaign.is_paused = True
    campaign.save()
    message = refusals.CAMPAIGN_NOT_RUNNING.format(
        campaign=campaign.name, state=CampaignState.PAUSED.label
    )
    expect_refusal(refusals.CampaignNotRunning, message, inviter, "15900000002", campaign=campaign)
    ended = CampaignFactory(
        ends_at=timezone.now() - timedelta(hours=1), starts_at=timezone.now() - timedelta(days=9)
    )
    message = refusals.CAMPAIGN_NOT_RUNNING.format(
        campaign=ended.name, state=CampaignState.OVER.label
    )
    expect_refusal(refusals.CampaignNotRunning, message, inviter, "15900000003", campaign=ended)


def test_running_means_the_same_in_sql_and_in_python():
    from datetime import timedelta

    from django.utils import timezone

    from invitations.models import Campaign

    now = timezone.now()
    day = timedelta(days=1)
    campaigns = {
        CampaignState.RUNNING: CampaignFactory(starts_at=now - day, ends_at=now + day),
        CampaignState.PAUSED: CampaignFactory(
            starts_at=now - day, ends_at=now + day, is_paused=True
        ),
        CampaignState.NOT_STARTED: CampaignFactory(starts_at=now + day, ends_at=now + 2 * day),
        CampaignState.OVER: CampaignFactory(starts_at=now - 2 * day, ends_at=now),  # ends now
    }
    assert {state: campaign.state(now) for state, campaign in campaigns.items()} == {
        state: state for state in campaigns
    }
    assert list(Campaign.objects.running(now)) == [campaigns[CampaignState.RUNNING]]
