"""Signed events over real HTTP: the simulator, a separate process, sends them to the running
web server as the account-opening system would (delays, losses, duplicates, bad signatures,
retries), and the poller does the rest."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from account_opening.events import new_secret
from invitations.models import Invitation, OpeningEvent
from invitations.services import poll_invitations
from rewards.models import Grant
from tests.factories import CampaignFactory, InvitationFactory, make_cards
from tests.simulator import simulator

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = new_secret()


def wait_for(condition, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def sending_simulator(settings, live_server):
    """The simulator, sending its events to the live server; the client pointed at it."""
    settings.ACCOUNT_OPENING_WEBHOOK_SECRETS = [SECRET]

    def start(*options):
        return simulator(
            "--rate",
            "1000",
            "--events-url",
            f"{live_server.url}/hooks/account-opened",
            "--events-secret",
            SECRET,
            *options,
        )

    return start


def point_client_at(settings, sim):
    settings.ACCOUNT_OPENING_URL = sim.url
    settings.ACCOUNT_OPENING_RATE = 1000
    settings.ACCOUNT_OPENING_READ_TIMEOUT = 0.5
    settings.ACCOUNT_OPENING_RETRIES = 1


def opened(invitation, opened_at=None, account_id=None):
    return {
        "phone": invitation.invitee_phone,
        "account_id": account_id or f"A{invitation.invitee_phone}",
        "channel": "app",
        "opened_at": (opened_at or timezone.now()).isoformat(),
    }


def test_an_opening_is_rewarded_after_one_lookup_whatever_the_sender_does(
    settings, sending_simulator
):
    """A sender that duplicates every event and signs every first attempt wrongly: each event
    is retried until accepted, taken once, and the invitations are looked up at once."""
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 5)
    later = timezone.now() + timedelta(hours=6)
    invitations = [
        InvitationFactory(campaign=campaign, invitee_phone=f"1390013900{n}", next_check_at=later)
        for n in range(3)
    ]
    with sending_simulator(
        "--events-delay", "0.2", "--events-duplicates", "1", "--events-bad-signatures", "1"
    ) as sim:
        point_client_at(settings, sim)
        sim.add_accounts([opened(invitation) for invitation in invitations])
        assert wait_for(lambda: OpeningEvent.objects.count() == 3)
        assert wait_for(lambda: sim.stats()["events"]["delivered"] == 6)  # both copies
        events = sim.stats()["events"]
        assert events["answers"].get("401", 0) >= 3  # every first attempt refused, then retried
        cycle = poll_invitations()

    assert (cycle.claimed, cycle.qualified) == (3, 3)
    assert Grant.objects.filter(status="issued").count() == 3
    assert OpeningEvent.objects.count() == 3  # duplicates taken once


def test_an_event_for_someone_who_already_had_an_account_grants_nothing(
    settings, sending_simulator
):
    invitation = InvitationFactory(next_check_at=timezone.now() + timedelta(hours=6))
    with sending_simulator("--events-delay", "0.1") as sim:
        point_client_at(settings, sim)
        sim.add_accounts([opened(invitation, opened_at=timezone.now() - timedelta(days=400))])
        assert wait_for(lambda: OpeningEvent.objects.count() == 1)
        poll_invitations()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.INELIGIBLE_EXISTING_CUSTOMER
    assert Grant.objects.count() == 0


def test_a_lost_event_is_found_by_polling_as_before(settings, sending_simulator):
    invitation = InvitationFactory(next_check_at=timezone.now() - timedelta(seconds=1))
    with sending_simulator("--events-loss", "1") as sim:
        point_client_at(settings, sim)
        sim.add_accounts([opened(invitation)])
        poll_invitations()
        assert sim.stats()["events"]["lost"] == 1
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.QUALIFIED and OpeningEvent.objects.count() == 0


def test_a_flood_of_events_leaves_the_endpoint_up_and_the_lookups_within_the_limit(
    settings, live_server, upstream
):
    """1,000 signed events for strangers in about a second, from 8 connections at once: every
    one is answered (accepted, or told to come back), the site still answers, and the lookups
    they cause stay within the upstream's rate."""
    settings.ACCOUNT_OPENING_WEBHOOK_SECRETS = [SECRET]
    settings.ACCOUNT_OPENING_RATE = 20
    invitations = [
        InvitationFactory(
            invitee_phone=f"1370013{n:04d}", next_check_at=timezone.now() + timedelta(hours=6)
        )
        for n in range(20)
    ]
    upstream.add_accounts([opened(invitation) for invitation in invitations])
    upstream.reset()
    webhook, url = Webhook(SECRET), f"{live_server.url}/hooks/account-opened"

    def send(n: int) -> int:
        phone = f"1370013{n % 40:04d}"  # half of them invited
        body = f'{{"type": "account.opened", "data": {{"phone": "{phone}", "account_id": "A{n}"}}}}'
        at = datetime.now(UTC)
        headers = {
            "webhook-id": f"msg_flood_{n}",
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": webhook.sign(f"msg_flood_{n}", at, body),
        }
        return requests.post(url, data=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(1000)))
    assert set(answers) <= {200, 429} and answers.count(200) >= 1
    assert requests.get(f"{live_server.url}/health/live", timeout=5).status_code == 200
    signalled = Invitation.objects.filter(check_priority=0, next_check_at__lte=timezone.now())
    assert signalled.count() == 20
    assert OpeningEvent.objects.exclude(invitation_ids=[]).count() == 20  # one poll queued each
    cycle = poll_invitations(max_seconds=30)
    stats = upstream.stats()
    assert cycle.qualified == 20
    assert stats["max_requests_in_one_second"] <= 20 and stats["rate_limited"] == 0
