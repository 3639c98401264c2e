"""Phones are personal data: staff see them masked unless they may see them whole."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse

from notifications.models import Message
from rewards.services import grant_reward, reveal_grant_card
from signin.models import AppIdentity, SignInEvent
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
    AppIdentity.objects.create(issuer="app", subject="C1", user=customer.user)
    SignInEvent.record("phone_mismatch", issuer="app", subject="C1", user=customer.user)
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
        reverse("admin:auth_user_change", args=[customer.user_id]),
        reverse("admin:auth_user_history", args=[customer.user_id]),
        reverse("admin:notifications_message_change", args=[Message.objects.first().pk]),
        reverse("admin:signin_appidentity_changelist"),
        reverse("admin:signin_appidentity_change", args=[AppIdentity.objects.get().pk]),
        reverse("admin:signin_signinevent_changelist"),
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


@pytest.mark.parametrize(
    ("changelist", "typed"),
    [
        ("admin:invitations_customer_changelist", "+86 138-1234-5678"),
        ("admin:invitations_invitation_changelist", "138 1234 5678"),
        ("admin:rewards_grant_changelist", "13812345678"),
        ("admin:rewards_pointsentry_changelist", "138 1234 5678"),
        ("admin:auth_user_changelist", "138 1234 5678"),
    ],
)
def test_a_search_by_full_phone_number_never_puts_it_in_a_url(
    client, reviewer, grant, changelist, typed
):
    from django.contrib.auth.models import Permission

    reviewer.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    listing = client.get(reverse(changelist)).content.decode()
    assert 'method="post"' in listing and 'name="q"' not in listing  # no GET search box
    search_url = reverse(changelist.replace("_changelist", "_private_search"))
    found = client.post(search_url, {"term": typed})
    assert found.status_code == 302
    assert "1234" not in found.url and "5678" not in found.url
    page = client.get(found.url)
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1, changelist
    assert typed in page.content.decode()  # kept in the box, not in the address
    assert client.get(found.url.split("?")[0]).context["cl"].result_count >= 1


@pytest.mark.parametrize(
    ("changelist", "typed"),
    [
        ("admin:rewards_grant_changelist", "grant_no_lower_case"),
        ("admin:invitations_invitation_changelist", "account_id"),
        ("admin:invitations_invitation_changelist", "inviter_phone"),
        ("admin:rewards_pointsentry_changelist", "grant_no"),
    ],
)
def test_exact_searches_use_indexes_and_find_numbers_typed_in_lower_case(
    client, reviewer, grant, changelist, typed
):
    """Django's "=" search is iexact (UPPER() on both sides, a scan of a million invitations):
    the private search matches with equalities, the term as typed and in capitals."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    reviewer.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    term = {
        "grant_no_lower_case": grant.grant_no.lower(),
        "grant_no": grant.grant_no,
        "account_id": grant.invitation.external_account_id,
        "inviter_phone": grant.inviter.phone,
    }[typed]
    found = client.post(
        reverse(changelist.replace("_changelist", "_private_search")), {"term": term}
    )
    with CaptureQueriesContext(connection) as queries:
        page = client.get(found.url)
    assert page.context["cl"].result_count == 1, (changelist, typed)
    assert not any("UPPER(" in query["sql"] for query in queries), changelist


def test_a_user_manager_without_the_permission_sees_the_phone_masked_on_the_password_page(
    client, reviewer, grant
):
    reviewer.user_permissions.add(Permission.objects.get(codename="change_user"))
    url = reverse("admin:auth_user_password_change", args=[grant.inviter.user_id])
    response = client.get(url)
    assert response.status_code == 200
    assert PHONE not in response.content.decode()
    assert "138****5678" in response.content.decode()


def test_a_user_manager_without_the_permission_sees_no_phone_in_the_list_s_checkboxes(
    client, reviewer, grant
):
    # With a permission that brings the list's actions, each row gets a checkbox whose label
    # names the user (Django writes str(user): a customer's phone, whole).
    reviewer.user_permissions.add(*Permission.objects.filter(codename__in=["delete_user"]))
    page = client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert 'class="action-select"' in page
    assert PHONE not in page
    assert "138****5678" in page


def test_the_confirmation_of_deleting_a_customer_s_user_does_not_name_their_phone(
    client, reviewer, grant
):
    reviewer.user_permissions.add(*Permission.objects.filter(codename__in=["delete_user"]))
    response = client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "delete_selected", "_selected_action": [grant.inviter.user_id]},
    )
    assert response.status_code == 200
    assert PHONE not in response.content.decode()
