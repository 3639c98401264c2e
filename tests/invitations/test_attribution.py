"""Staff attach a sign-up whose link to its inviter was lost; it then goes through the normal
checks and polling, never a direct grant."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from account_opening.client import AccountStatus
from core.exceptions import ReasonRequired
from invitations.exceptions import (
    UNKNOWN_INVITER,
    AlreadyACustomer,
    DuplicateInvitation,
    SignupTimeOutsideCampaign,
)
from invitations.models import Invitation, InvitationEvent
from invitations.services.invitations import attribute_invitation
from invitations.services.polling import claim_due_invitations, record_lookup
from rewards.models import Grant
from tests.factories import CampaignFactory, CustomerFactory, make_cards

pytestmark = pytest.mark.django_db


def attribute(campaign, inviter, phone="15912345678", hours_ago=5, reason="screenshot #12"):
    return attribute_invitation(
        inviter,
        phone,
        campaign=campaign,
        signed_up_at=timezone.now() - timedelta(hours=hours_ago),
        reason=reason,
        actor=None,
    )


def test_an_attributed_sign_up_is_checked_by_the_poller_and_counts_an_account_opened_since(
    admin_user,
):
    # given a sign-up 5 hours ago whose link was lost; the invitee opened an account 2 hours ago
    campaign, inviter = CampaignFactory(), CustomerFactory()
    make_cards(campaign.card_kind, 1)
    invitation = attribute(campaign, inviter)
    assert (invitation.channel, invitation.status, Grant.objects.count()) == ("staff", "pending", 0)
    # when the poller looks the invitee up
    [claim] = claim_due_invitations(10, lease_seconds=60)
    opened_at = timezone.now() - timedelta(hours=2)
    record_lookup(claim, AccountStatus(invitation.invitee_phone, True, "A9", opened_at, "app"))
    # then it qualifies through the normal path, and the trail says who attributed it and why
    invitation.refresh_from_db()
    assert invitation.status == "qualified" and Grant.objects.get().invitation == invitation
    events = list(InvitationEvent.objects.filter(invitation=invitation).order_by("id"))
    assert [(event.action, event.reason) for event in events] == [
        ("attributed", "screenshot #12"),
        ("qualified", ""),
    ]
    assert events[1].details == {
        "opened": True,
        "account_id": "A9",
        "opened_at": opened_at.isoformat(),
        "channel": "app",
    }


def test_attribution_keeps_every_normal_refusal():
    campaign, inviter = CampaignFactory(), CustomerFactory()
    with pytest.raises(ReasonRequired):
        attribute(campaign, inviter, reason=" ")
    with pytest.raises(SignupTimeOutsideCampaign):
        attribute(campaign, inviter, hours_ago=24 * 3)  # before the campaign started
    with pytest.raises(SignupTimeOutsideCampaign):
        attribute(campaign, inviter, hours_ago=-1)  # in the future
    with pytest.raises(AlreadyACustomer):
        attribute(campaign, inviter, phone=CustomerFactory().phone)
    attribute(campaign, inviter)
    with pytest.raises(DuplicateInvitation):
        attribute(campaign, CustomerFactory())
    assert Invitation.objects.count() == 1


@pytest.fixture
def reviewer(client):
    call_command("setup_groups")
    user = User.objects.create_user("reviewer", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Reviewers"))
    client.force_login(user)
    return user


def test_a_reviewer_attributes_through_the_admin_and_a_refusal_keeps_the_input(client, reviewer):
    campaign, inviter = CampaignFactory(), CustomerFactory()
    url = reverse("admin:invitations_invitation_attribute")
    form = {
        "inviter_phone": "13000000000",  # nobody
        "invitee_phone": "159 1234 5678",
        "campaign": campaign.pk,
        "signed_up_at": (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
        "reason": "customer service ticket 4411",
    }
    assert (
        _("Attribute a lost sign-up")
        in client.get(reverse("admin:invitations_invitation_changelist")).content.decode()
    )

    refused = client.post(url, form).content.decode()
    assert str(UNKNOWN_INVITER).format(phone="13000000000") in refused
    assert "customer service ticket 4411" in refused and not Invitation.objects.exists()

    response = client.post(url, {**form, "inviter_phone": inviter.phone})
    invitation = Invitation.objects.get()
    assert response.status_code == 302 and invitation.inviter == inviter
    assert InvitationEvent.objects.get().actor == reviewer


def test_an_auditor_cannot_attribute(client):
    call_command("setup_groups")
    user = User.objects.create_user("auditor", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Auditors"))
    client.force_login(user)
    assert client.get(reverse("admin:invitations_invitation_attribute")).status_code == 403
