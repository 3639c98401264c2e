"""What an upstream answer means for an invitation: ``decide`` alone, no database, no HTTP."""

from datetime import UTC, datetime, timedelta

import pytest

from account_opening.client import AccountStatus
from invitations.check_policy import Facts, Policy, Priority, next_check
from invitations.models import Invitation
from invitations.services.polling import OPENED_TOO_LATE, Outcome, decide

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
INVITED = NOW - timedelta(days=3)
QUALIFY_BY = INVITED + timedelta(days=30)


def invitation(attempts: int = 0, qualify_by: datetime = QUALIFY_BY) -> Invitation:
    return Invitation(invited_at=INVITED, qualify_by=qualify_by, attempts=attempts)


def opened(at: datetime) -> AccountStatus:
    return AccountStatus("15900000001", True, "ACC1", at, "app")


NOT_OPENED = AccountStatus("15900000001", False)


def test_an_account_opened_after_the_invitation_qualifies_it():
    decision = decide(invitation(), opened(NOW - timedelta(hours=1)), NOW)
    assert decision.outcome == Outcome.QUALIFIED
    assert decision.changes["status"] == Invitation.Status.QUALIFIED
    assert (decision.changes["external_account_id"], decision.changes["decided_at"]) == (
        "ACC1",
        NOW,
    )


def test_an_account_opened_before_the_invitation_is_an_existing_customer():
    decision = decide(invitation(), opened(INVITED - timedelta(seconds=1)), NOW)
    assert decision.outcome == Outcome.INELIGIBLE
    assert decision.changes["status"] == Invitation.Status.INELIGIBLE_EXISTING_CUSTOMER


def test_an_account_opened_after_the_window_expires_the_invitation_with_the_reason():
    late = invitation(qualify_by=NOW - timedelta(days=1))
    decision = decide(late, opened(NOW - timedelta(hours=1)), NOW)
    assert decision.outcome == Outcome.EXPIRED
    assert decision.changes["rejection_reason"] == OPENED_TOO_LATE


def test_not_opened_is_scheduled_by_the_policy_and_expires_once_the_window_closed():
    decision = decide(invitation(attempts=4), NOT_OPENED, NOW)
    assert decision.outcome == Outcome.NOT_YET_OPENED and decision.changes["attempts"] == 5
    expected = next_check(Facts(INVITED, QUALIFY_BY, 5), NOW, Policy.from_settings())
    assert decision.changes["next_check_at"] == expected.at
    assert decision.changes["check_priority"] == expected.priority == Priority.ROUTINE
    closed = invitation(qualify_by=NOW)
    assert decide(closed, NOT_OPENED, NOW).outcome == Outcome.EXPIRED


@pytest.mark.parametrize(
    "opened_at",
    [NOW + timedelta(hours=1), datetime(1970, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)],
    ids=["future", "epoch", "2099"],
)
def test_an_implausible_date_is_an_error_never_a_decision(opened_at):
    decision = decide(invitation(attempts=2), opened(opened_at), NOW)
    assert decision.outcome == Outcome.ERROR
    assert "status" not in decision.changes and decision.changes["attempts"] == 3
    assert decision.changes["last_error"].startswith("InvalidUpstreamReply")


def test_the_channels_we_store_are_the_channels_of_the_contract():
    from account_opening.contract import CHANNELS
    from invitations.models import AccountChannel

    assert set(AccountChannel.values) == set(CHANNELS)
