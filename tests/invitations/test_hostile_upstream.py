"""The upstream is shared and belongs to another team: whatever it answers, and however slowly,
one reply never stops, stalls or misleads the poller (each fault of the simulator is also in the
fault matrix of ``test_upstream_faults.py``)."""

import tracemalloc
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from account_opening.client import (
    AccountStatus,
    HttpAccountOpeningClient,
    InvalidUpstreamReply,
    parse_body,
    parse_retry_after,
)
from core.clock import database_now
from core.models import RateLimit
from core.rate_limit import SharedRateLimiter
from invitations.models import Invitation
from invitations.services import poll_invitations
from invitations.services.polling import claim_due_invitations, record_lookup
from rewards.models import Grant
from tests.factories import CampaignFactory, InvitationFactory, make_cards
from tests.invitations.test_polling import opened
from tests.invitations.test_upstream_faults import make_due

pytestmark = pytest.mark.django_db(transaction=True)


# --- Retry-After and the shared limiter ---------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("12", 12.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("86400000", 300.0),  # 1,000 days: capped
        ("1e308", 300.0),
        ("inf", 300.0),
        ("nan", 300.0),
        ("9" * 5000, 300.0),
        ("-5", 0.0),
        ("soon", 1.0),  # not a number nor a date: the default
        ("", 1.0),
        (None, 1.0),
        ("1,000", 1.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # an HTTP-date in the past
        ("Fri, 31 Dec 9999 23:59:59 GMT", 300.0),  # an HTTP-date far ahead
    ],
)
def test_retry_after_is_parsed_safely_and_capped(header, seconds):
    assert parse_retry_after(header, cap=300) == seconds


def test_retry_after_as_an_http_date_in_a_few_seconds_is_honoured():
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after(soon, cap=300) <= 30


def limiter_ahead_seconds() -> float:
    row = RateLimit.objects.get(name="account-opening")
    return (row.next_free_at - database_now()).total_seconds()


def test_the_limiter_is_never_pushed_past_the_cap_whatever_it_is_told(db, settings):
    settings.ACCOUNT_OPENING_MAX_RETRY_AFTER_SECONDS = 3
    limiter = SharedRateLimiter("account-opening", rate=5, cap=3)
    for seconds in (86_400_000, 1e308, float("inf"), float("nan")):
        limiter.push_back(seconds)  # before: "timestamp out of range" for 1e308
        assert limiter_ahead_seconds() <= 3


def test_a_429_with_1000_days_of_retry_after_delays_the_next_lookup_by_the_cap_only(
    upstream, settings
):
    # given a 429 asking every client to wait 1,000 days, and a cap of 3 s
    settings.ACCOUNT_OPENING_MAX_RETRY_AFTER_SECONDS = 3
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 1)
    invitation = InvitationFactory(campaign=campaign)
    upstream.add_accounts([opened(invitation.invitee_phone, "app")])
    upstream.inject(invitation.invitee_phone, "retry_after_huge", times=1)
    first = poll_invitations()
    assert first.errors == 1
    assert limiter_ahead_seconds() <= 3
    # when the upstream has recovered and the invitation is due again
    make_due(invitation)
    second = poll_invitations(max_seconds=10)
    # then it is looked up at once, after at most the cap
    invitation.refresh_from_db()
    assert (second.claimed, second.qualified, invitation.status) == (1, 1, "qualified")
    assert Grant.objects.filter(invitation=invitation).count() == 1


def test_a_limiter_left_far_ahead_heals_and_a_cycle_without_a_slot_ends_quietly(upstream, settings):
    # given a limiter row pushed 1,000 days ahead (as the old client let one 429 do)
    invitations = [InvitationFactory(invitee_phone=f"1590000000{i}") for i in range(5)]
    RateLimit.objects.update_or_create(
        name="account-opening",
        defaults={"next_free_at": timezone.now() + timedelta(days=1000)},
    )
    settings.ACCOUNT_OPENING_MAX_RETRY_AFTER_SECONDS = 30
    # when a cycle runs with less time than the capped wait
    cycle = poll_invitations(batch_size=2, max_seconds=1)
    # then it ends quietly: at most one batch claimed and given back, nothing counted
    assert cycle.finished_at is not None
    assert cycle.claimed <= 2 and cycle.released == cycle.claimed and cycle.errors == 0
    assert limiter_ahead_seconds() <= 30
    for invitation in invitations:
        invitation.refresh_from_db()
        assert (invitation.attempts, invitation.last_error, invitation.lease_token) == (0, "", None)
        assert invitation.next_check_at <= timezone.now()
    # and with a short cap the very next cycle decides them all
    settings.ACCOUNT_OPENING_MAX_RETRY_AFTER_SECONDS = 1
    cycle = poll_invitations(max_seconds=10)
    assert (cycle.claimed, cycle.not_yet_opened) == (5, 5)


# --- bodies: size and speed ---------------------------------------------------------------


def test_a_100_mb_reply_is_refused_in_bounded_memory(upstream):
    upstream.inject("15900000001", "huge_body")
    client = HttpAccountOpeningClient()
    tracemalloc.start()
    try:
        with pytest.raises(InvalidUpstreamReply, match="larger than 65536 bytes"):
            client.lookup("15900000001")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024  # before: the whole 100 MB body, several times over


class ExplodingClient:
    """A client plugged in by ``ACCOUNT_OPENING_CLIENT`` that fails in a way nobody foresaw."""

    def __init__(self, explode_on: str):
        self.real = HttpAccountOpeningClient()
        self.explode_on = explode_on

    def lookup(self, phone, *, deadline=None):
        if phone == self.explode_on:
            raise RecursionError("maximum recursion depth exceeded while decoding JSON")
        return self.real.lookup(phone, deadline=deadline)


def test_any_exception_from_a_lookup_is_recorded_and_the_cycle_goes_on(upstream):
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 1)
    broken = InvitationFactory(campaign=campaign, invitee_phone="15900000001")
    fine = InvitationFactory(campaign=campaign, invitee_phone="15900000002")
    upstream.add_accounts([opened("15900000001", "app"), opened("15900000002", "app")])

    cycle = poll_invitations(client=ExplodingClient(explode_on="15900000001"))

    broken.refresh_from_db()
    fine.refresh_from_db()
    assert (cycle.errors, cycle.qualified) == (1, 1)
    assert (broken.status, broken.attempts, fine.status) == ("pending", 1, "qualified")
    assert "RecursionError" in broken.last_error
    assert not Grant.objects.filter(invitation=broken).exists()


def test_an_invitation_asked_a_thousand_times_neither_overflows_nor_stops_the_cycle(upstream):
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 1)
    veteran = InvitationFactory(campaign=campaign, invitee_phone="15900000001", attempts=1000)
    fine = InvitationFactory(campaign=campaign, invitee_phone="15900000002")
    upstream.add_accounts([opened("15900000002", "app")])
    upstream.inject("15900000001", "error500", times=5)

    cycle = poll_invitations()

    veteran.refresh_from_db()
    fine.refresh_from_db()
    assert (cycle.errors, cycle.qualified) == (1, 1)
    assert (veteran.status, veteran.attempts, fine.status) == ("pending", 1001, "qualified")
    assert veteran.next_check_at <= timezone.now() + timedelta(hours=1, minutes=1)


def test_a_failure_that_cannot_be_recorded_does_not_stop_the_cycle(upstream, monkeypatch):
    from invitations.services import polling

    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 1)
    broken = InvitationFactory(campaign=campaign, invitee_phone="15900000001")
    fine = InvitationFactory(campaign=campaign, invitee_phone="15900000002")
    upstream.add_accounts([opened("15900000002", "app")])
    recorded = polling.record_failure

    def failing_record_failure(claim, error):
        if claim.invitation_id == broken.pk:
            raise OverflowError("a bug in recording")
        return recorded(claim, error)

    monkeypatch.setattr(polling, "record_failure", failing_record_failure)
    cycle = poll_invitations(client=ExplodingClient(explode_on="15900000001"))
    fine.refresh_from_db()
    assert (cycle.errors, cycle.qualified, fine.status) == (1, 1, "qualified")


def test_deeply_nested_json_is_an_invalid_reply():
    with pytest.raises(InvalidUpstreamReply, match="not JSON"):
        parse_body("15900000001", b"[" * 50_000)


# --- dates are checked, not trusted -------------------------------------------------------


def decide(opened_at: datetime) -> Invitation:
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 1)
    invitation = InvitationFactory(campaign=campaign)
    [claim] = claim_due_invitations(1, lease_seconds=60)
    account = AccountStatus(invitation.invitee_phone, True, "A1", opened_at, "app")
    record_lookup(claim, account)
    invitation.refresh_from_db()
    return invitation


@pytest.mark.parametrize(
    "opened_at",
    [
        timezone.now() + timedelta(days=3),  # before: qualified at once, a card issued
        datetime(2099, 1, 1, tzinfo=UTC),  # before: expired for good
        datetime(1970, 1, 1, tzinfo=UTC),  # a null date: before, "existing customer" for good
    ],
    ids=["three-days-ahead", "2099", "1970"],
)
def test_an_impossible_opening_date_is_an_error_never_a_decision(db, opened_at):
    invitation = decide(opened_at)
    assert (invitation.status, invitation.attempts) == ("pending", 1)
    assert "opened_at" in invitation.last_error
    assert invitation.lease_token is None and invitation.next_check_at > timezone.now()
    assert invitation.external_account_id is None
    assert not Grant.objects.exists()


def test_an_opening_date_within_the_clock_skew_is_believed(db):
    invitation = decide(timezone.now() + timedelta(minutes=2))
    assert invitation.status == "qualified"
    assert Grant.objects.count() == 1


def test_an_account_opened_years_ago_is_still_an_existing_customer(db):
    invitation = decide(datetime(2019, 5, 1, tzinfo=UTC))
    assert invitation.status == Invitation.Status.INELIGIBLE_EXISTING_CUSTOMER
