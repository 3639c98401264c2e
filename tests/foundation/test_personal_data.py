"""A person's request about their data (PIPL): staff export everything kept about a number, or
erase it, with a reason, recorded; the books stay."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from cardpool import secrets
from fraud.clients import digest
from fraud.models import Sighting
from invitations.models import Customer, Invitation, PhoneVerification
from notifications.models import Message
from operations.models import DataRequest
from operations.services.personal_data import erase_person, export_person
from rewards.models import Grant, PointsEntry
from rewards.services import grant_reward
from signin.models import AppIdentity
from tests.factories import (
    CampaignFactory,
    CustomerFactory,
    InvitationFactory,
    UserFactory,
    make_cards,
    qualified_invitation,
)

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
FRIEND = "13987654321"


@pytest.fixture
def person():
    """A customer rewarded for a friend, themselves invited by someone, with a code sent, a
    message and an app identity."""
    campaign = CampaignFactory(points=50)
    make_cards(campaign.card_kind, 1)
    customer = CustomerFactory(phone=PHONE)
    customer.user.username = PHONE
    customer.user.save()
    grant = grant_reward(
        qualified_invitation(campaign=campaign, inviter=customer, invitee_phone=FRIEND)
    )
    InvitationFactory(invitee_phone=PHONE)  # someone invited them too
    PhoneVerification.objects.create(
        phone=PHONE, code_digest="x", expires_at=grant.created_at, channel="link"
    )
    AppIdentity.objects.create(issuer="brokerage-app", subject="C1", user=customer.user)
    return customer, grant


def test_an_export_holds_their_data_never_a_card_secret_or_another_persons_number(person):
    _, grant = person
    document = export_person(PHONE, reason="request #12 by phone", actor=None)
    text = json.dumps(document, ensure_ascii=False)
    assert document["customer"]["rewards"][0]["grant_no"] == grant.grant_no
    assert document["customer"]["points"][0]["amount"] == 50
    assert document["customer"]["app_customer_ids"] == ["C1"]
    assert len(document["invited_by_others"]) == 1
    assert document["customer"]["messages"]  # the reward's message
    assert FRIEND not in text and "139****4321" in text
    assert secrets.decrypt(grant.card.number_encrypted) not in text
    assert secrets.decrypt(grant.card.password_encrypted) not in text
    request = DataRequest.objects.get()
    assert (request.action, request.phone_masked, request.reason) == (
        "export",
        "138****5678",
        "request #12 by phone",
    )
    assert PHONE not in json.dumps(request.summary) and request.phone_digest != PHONE


def test_an_erasure_keeps_the_books_and_leaves_no_number(person):
    from rewards.services.reconciliation import reconcile

    customer, grant = person
    seen = {"address": "a" * 32, "device": "d" * 32, "seen_at": timezone.now()}
    Sighting.objects.create(step="inviter_page", inviter_id=customer.pk, **seen)
    Sighting.objects.create(
        step="phone_verified", inviter_id=0, phone=digest("phone", PHONE), **seen
    )
    Sighting.objects.create(step="link_visit", inviter_id=customer.pk, **seen)  # a visitor's
    assert export_person(PHONE, reason="asked", actor=None)["fraud_signals"] == 2
    summary = erase_person("+86 138 1234 5678", reason="request #13", actor=None)
    assert summary["customer"] and summary["invitations_as_invitee"] == 1
    assert summary["fraud_signals"] == 2
    assert list(Sighting.objects.values_list("step", flat=True)) == ["link_visit"]
    assert summary["codes_sent"] == 1 and summary["app_identities"] == 1
    customer.refresh_from_db()
    customer.user.refresh_from_db()
    assert PHONE not in customer.phone and customer.erased_at is not None
    assert not customer.user.is_active and not customer.user.has_usable_password()
    assert PHONE not in customer.user.username
    assert not Invitation.objects.filter(invitee_phone=PHONE).exists()
    assert not PhoneVerification.objects.filter(phone=PHONE).exists()
    assert not Message.objects.filter(recipient=customer.user).exists()
    assert not AppIdentity.objects.exists()
    assert Grant.objects.filter(pk=grant.pk).exists() and PointsEntry.objects.count() == 1
    assert reconcile().is_ok
    assert list(DataRequest.objects.order_by("pk").values_list("action", flat=True)) == [
        "export",
        "erase",
    ]


def test_a_number_with_nothing_kept_exports_empty_and_erases_nothing():
    document = export_person("13700000000", reason="asked", actor=None)
    assert document["customer"] is None and document["invited_by_others"] == []
    assert erase_person("13700000000", reason="asked", actor=None)["customer"] is False


def staff_with(*codenames):
    user = UserFactory(is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def test_staff_need_the_permission_a_reason_and_a_confirmation(client, person):
    url = reverse("admin:operations_person_request")
    client.force_login(staff_with("view_datarequest"))
    assert client.get(url).status_code == 403

    client.force_login(staff_with("view_datarequest", "export_person"))
    page = client.post(
        url, {"phone": PHONE, "action": "erase", "reason": "x", "confirm_erase": "on"}
    )
    assert page.status_code == 403  # exporting is not erasing
    download = client.post(url, {"phone": PHONE, "action": "export", "reason": "request #1"})
    assert download["Content-Disposition"].startswith("attachment")
    assert json.loads(download.content)["customer"]["invite_code"] == person[0].invite_code

    client.force_login(staff_with("view_datarequest", "erase_person"))
    unconfirmed = client.post(url, {"phone": PHONE, "action": "erase", "reason": "request #2"})
    assert unconfirmed.status_code == 200 and Customer.objects.filter(phone=PHONE).exists()
    no_reason = client.post(url, {"phone": PHONE, "action": "erase", "confirm_erase": "on"})
    assert no_reason.status_code == 200 and Customer.objects.filter(phone=PHONE).exists()
    done = client.post(
        url, {"phone": PHONE, "action": "erase", "reason": "request #2", "confirm_erase": "on"}
    )
    assert done.status_code == 302 and not Customer.objects.filter(phone=PHONE).exists()
    listing = client.get(reverse("admin:operations_datarequest_changelist")).content.decode()
    assert "request #2" in listing and PHONE not in listing
