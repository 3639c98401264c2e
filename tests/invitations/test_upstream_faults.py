"""Every way the upstream can fail: none qualifies an invitation wrongly, none loses one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from devtools.account_simulator import FAULTS
from invitations.models import Invitation
from invitations.services import poll_invitations
from rewards.models import Grant
from tests.factories import CampaignFactory, InvitationFactory, make_cards
from tests.invitations.test_polling import opened

pytestmark = pytest.mark.django_db(transaction=True)


def assert_kept_pending_with_error(invitation: Invitation) -> None:
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING
    assert invitation.last_error != ""
    assert invitation.attempts == 1
    assert invitation.lease_token is None
    assert invitation.next_check_at > timezone.now()
    assert not Grant.objects.filter(invitation=invitation).exists()


def make_due(invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(
        next_check_at=timezone.now() - timedelta(seconds=1)
    )


# What each fault must leave in ``last_error``: the reason staff read in the admin.
EXPECTED_ERROR = {
    "timeout": "timed out",
    "error500": "HTTP 500",
    "rate_limited": "rate limited",
    "malformed": "not JSON",
    "wrong_phone": "another phone",
    "unknown_channel": "unknown channel",
    "disconnect": "connection",
    "retry_after_huge": "Retry-After 1s",  # 86,400,000 s asked, the cap (1 s here) kept
    "truncated": "broken reply",
    "drip": "no complete reply within 2s",
    "drip_headers": "no complete reply within 2s",
    "huge_body": "larger than 65536 bytes",
    "future_opened_at": "in the future",
    "epoch_opened_at": "before 1990",
    "redirect": "HTTP 302",
}


def test_every_fault_has_an_expected_error():
    assert set(EXPECTED_ERROR) == set(FAULTS)


@pytest.mark.parametrize("fault", FAULTS)
def test_a_faulty_reply_keeps_the_invitation_and_a_good_one_later_qualifies_it(upstream, fault):
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 3)
    # claimed first, so a crash on it would leave the two others undecided
    invitation = InvitationFactory(campaign=campaign, invitee_phone="15900000001")
    neighbour_opened = InvitationFactory(campaign=campaign, invitee_phone="15900000002")
    neighbour_waiting = InvitationFactory(campaign=campaign, invitee_phone="15900000003")
    # The invitee did open an account, so a wrong "qualified" or a lost invitation would show.
    upstream.add_accounts(
        [opened(invitation.invitee_phone, "one_click"), opened("15900000002", "app")]
    )
    upstream.inject(invitation.invitee_phone, fault, times=2)  # more than the client's retries

    cycle = poll_invitations()

    assert (cycle.claimed, cycle.errors, cycle.qualified, cycle.not_yet_opened) == (3, 1, 1, 1)
    assert_kept_pending_with_error(invitation)
    assert EXPECTED_ERROR[fault] in Invitation.objects.get(pk=invitation.pk).last_error
    neighbour_opened.refresh_from_db()
    neighbour_waiting.refresh_from_db()
    assert (neighbour_opened.status, neighbour_waiting.status) == ("qualified", "pending")
    assert neighbour_waiting.attempts == 1 and neighbour_waiting.last_error == ""
    upstream.inject(invitation.invitee_phone, fault, times=0)  # the upstream recovers
    make_due(invitation)
    poll_invitations()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.QUALIFIED
    assert Grant.objects.filter(invitation=invitation).count() == 1


def test_an_unreachable_upstream_keeps_the_invitation(upstream, settings):
    invitation = InvitationFactory()
    settings.ACCOUNT_OPENING_URL = "http://127.0.0.1:9"  # nothing listens there: connection refused
    cycle = poll_invitations()
    assert cycle.errors == 1
    assert_kept_pending_with_error(invitation)
    assert "connection failed" in Invitation.objects.get().last_error


def test_errors_never_expire_an_invitation_even_past_its_window(upstream):
    invitation = InvitationFactory(qualify_by=timezone.now() - timedelta(minutes=1))
    upstream.inject(invitation.invitee_phone, "error500", times=5)
    poll_invitations()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING and "HTTP 500" in invitation.last_error
