"""PIPL: the number of an invitee who never opened an account is kept no longer than needed."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from invitations.exceptions import DuplicateInvitation
from invitations.models import Invitation
from invitations.phones import erased_phone
from invitations.services import create_invitation
from invitations.services.retention import erase_unopened_phones
from tests.factories import CampaignFactory, CustomerFactory, InvitationFactory

pytestmark = pytest.mark.django_db


def invitation(status="expired", *, days_past_window=40, account=None, **fields):
    row = InvitationFactory(**fields)
    changes = {
        "status": status,
        "qualify_by": timezone.now() - timedelta(days=days_past_window),
    }
    if account:
        changes.update(external_account_id=account, account_opened_at=timezone.now())
    Invitation.objects.filter(pk=row.pk).update(**changes)
    return Invitation.objects.get(pk=row.pk)


def test_only_never_opened_invitations_past_window_and_retention_are_erased(settings):
    settings.INVITEE_PHONE_RETENTION_DAYS = 30
    gone = invitation()
    phone = gone.invitee_phone
    kept = [
        invitation(days_past_window=20),  # within the retention
        invitation("expired", account="LATE1"),  # opened, too late: an account, kept
        invitation("ineligible_existing_customer", account="OLD1"),
        invitation("qualified", account="Q1"),
        invitation("pending", days_past_window=-10),
    ]
    assert erase_unopened_phones() == 1
    gone.refresh_from_db()
    assert gone.invitee_phone.startswith("x") and gone.phone_erased_at is not None
    assert phone not in gone.invitee_phone and gone.invitee_phone == erased_phone(phone)
    for row in kept:
        assert Invitation.objects.get(pk=row.pk).invitee_phone == row.invitee_phone
    assert erase_unopened_phones() == 0  # once


def test_a_second_invitation_of_an_erased_number_in_its_campaign_is_still_refused():
    campaign = CampaignFactory()
    phone = "13955556666"
    invitation(campaign=campaign, invitee_phone=phone)
    erase_unopened_phones()
    assert Invitation.objects.get().invitee_phone == erased_phone(phone)
    with pytest.raises(DuplicateInvitation):
        create_invitation(CustomerFactory(), phone, campaign=campaign)


def test_erasing_goes_in_batches_and_the_books_stay_green():
    from rewards.services.reconciliation import reconcile

    for _ in range(7):
        invitation()
    assert erase_unopened_phones(batch=3) == 7
    assert not Invitation.objects.filter(phone_erased_at__isnull=True).exists()
    assert reconcile().is_ok


def test_the_inviter_sees_an_erased_number_as_stars(client):
    row = invitation()
    erase_unopened_phones()
    client.force_login(row.inviter.user)
    page = client.get(reverse("rewards:home")).content.decode()
    assert "*" * 11 in page and erased_phone(row.invitee_phone) not in page
    assert "*" * 12 not in page
