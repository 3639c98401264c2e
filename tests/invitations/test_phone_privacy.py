"""Phones are personal data: staff see them masked unless they may see them whole."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse

from rewards.services import grant_reward, reveal_grant_card
from tests.factories import CampaignFactory, CustomerFactory, make_cards, qualified_invitation

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


@pytest.fixture
def reviewer(client):
    from django.core.management import call_command

    call_command("setup_groups", verbosity=0)
    user = User.objects.create_user("reviewer", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Reviewers"))
    user.user_permissions.add(Permission.objects.get(codename="view_user"))
    client.force_login(user)
    return user


@pytest.fixture
def grant():
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 1)
    customer = CustomerFactory(phone=PHONE)
    customer.user.username = PHONE
    customer.user.save()
    grant = grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    reveal_grant_card(grant, customer)  # an event whose actor is the customer's user: the phone
    return grant


def pages(grant) -> list[str]:
    customer = grant.inviter
    return [
        reverse("admin:invitations_customer_change", args=[customer.pk]),
        reverse("admin:invitations_invitation_change", args=[grant.invitation_id]),
        reverse("admin:rewards_grant_change", args=[grant.pk]),
        reverse("admin:rewards_grantevent_changelist"),
        reverse("admin:cardpool_cardevent_changelist"),
        reverse("admin:auth_user_changelist"),
    ]


def test_staff_without_the_permission_see_phones_masked(client, reviewer, grant):
    for url in pages(grant):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert PHONE not in page, url
        assert grant.invitation.invitee_phone not in page, url
    assert "138****5678" in client.get(pages(grant)[0]).content.decode()


def test_staff_with_the_permission_see_them_whole(client, reviewer, grant):
    reviewer.user_permissions.add(Permission.objects.get(codename="view_full_phone"))
    page = client.get(pages(grant)[0]).content.decode()
    assert PHONE in page
