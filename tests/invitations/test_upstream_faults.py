"""Every way the upstream can fail: none qualifies an invitation wrongly, none loses one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from invitations.account_opening.simulator import FAULTS
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


@pytest.mark.parametrize("fault", FAULTS)
def test_a_faulty_reply_keeps_the_invitation_and_a_good_one_later_qualifies_it(upstream, fault):
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 2)
    invitation = InvitationFactory(campaign=campaign)
    # The invitee did open an account, so a wrong "qualified" or a lost invitation would show.
    upstream.add_accounts([opened(invitation.invitee_phone, "one_click")])
    upstream.inject(invitation.invitee_phone, fault, times=2)  # more than the client's retries

    cycle = poll_invitations()

    assert (cycle.claimed, cycle.errors, cycle.qualified) == (1, 1, 0)
    assert_kept_pending_with_error(invitation)
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
