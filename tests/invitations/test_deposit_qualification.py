"""A campaign that counts a friend only on a first deposit (#32): opened is not enough; the
deposit must arrive within the campaign's days of the opening and reach its amount. Over real
HTTP to the simulator; the contract's hostile replies through the client's parser."""

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from account_opening.client import InvalidUpstreamReply, parse_reply
from invitations.models import Invitation
from invitations.services import poll_invitations
from rewards.models import Grant
from tests.factories import CampaignFactory, InvitationFactory, make_cards

pytestmark = pytest.mark.django_db(transaction=True)


def opened(phone: str, *, opened_ago=timedelta(0), deposit=None, funded_ago=timedelta(0)) -> dict:
    now = timezone.now()
    account = {
        "phone": phone,
        "account_id": f"A{phone}",
        "opened_at": (now - opened_ago).isoformat(),
        "channel": "app",
    }
    if deposit is not None:
        account["first_deposit_amount"] = deposit
        account["first_deposit_at"] = (now - funded_ago).isoformat()
    return account


@pytest.fixture
def campaign():
    campaign = CampaignFactory(min_deposit=Decimal("1000.00"), deposit_days=7)
    make_cards(campaign.card_kind, 10)
    return campaign


def due(invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(next_check_at=timezone.now())


def test_an_opened_account_waits_for_its_deposit_then_qualifies(upstream, campaign, client):
    invitation = InvitationFactory(campaign=campaign)
    upstream.add_accounts([opened(invitation.invitee_phone)])

    cycle = poll_invitations()

    invitation.refresh_from_db()
    assert (cycle.awaiting_deposit, cycle.qualified) == (1, 0)
    assert invitation.status == "pending" and invitation.external_account_id
    assert invitation.qualify_by == invitation.account_opened_at + timedelta(days=7)
    assert invitation.next_check_at > timezone.now() and Grant.objects.count() == 0
    client.force_login(invitation.inviter.user)
    page = client.get(reverse("rewards:home")).content.decode()
    assert "已开户，待入金" in page

    reply = requests.post(
        f"{upstream.url}/_sim/deposits",
        json={"phone": invitation.invitee_phone, "first_deposit_amount": "1500.00"},
        timeout=10,
    )
    assert reply.status_code == 201 and reply.json()["first"] is True
    due(invitation)
    cycle = poll_invitations()

    invitation.refresh_from_db()
    assert (cycle.qualified, invitation.status, invitation.first_deposit) == (
        1,
        "qualified",
        Decimal("1500.00"),
    )
    assert Grant.objects.get().invitation == invitation


@pytest.mark.parametrize(
    ("account", "reason"),
    [
        (
            {"deposit": "999.99"},
            "first deposit of 999.99 yuan, below the 1000.00 yuan required",
        ),
        (
            {"opened_ago": timedelta(days=9), "deposit": "5000", "funded_ago": timedelta(days=1)},
            "no first deposit of at least 1000.00 yuan within 7 days of the opening",
        ),
        (
            {"opened_ago": timedelta(days=8)},
            "no first deposit of at least 1000.00 yuan within 7 days of the opening",
        ),
    ],
    ids=["too little", "too late", "never"],
)
def test_a_deposit_too_small_too_late_or_missing_earns_nothing(upstream, campaign, account, reason):
    invitation = InvitationFactory(campaign=campaign)
    Invitation.objects.filter(pk=invitation.pk).update(
        invited_at=timezone.now() - timedelta(days=10)
    )
    upstream.add_accounts([opened(invitation.invitee_phone, **account)])

    poll_invitations()

    invitation.refresh_from_db()
    assert (invitation.status, invitation.rejection_reason) == ("expired", reason)
    assert Grant.objects.count() == 0


def test_a_campaign_without_a_deposit_rule_qualifies_on_the_opening(upstream):
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 1)
    invitation = InvitationFactory(campaign=campaign)
    upstream.add_accounts([opened(invitation.invitee_phone)])
    assert poll_invitations().qualified == 1


def test_the_simulator_keeps_the_first_deposit_and_refuses_a_bad_one(upstream):
    upstream.add_accounts([opened("15900000009")])
    url = f"{upstream.url}/_sim/deposits"
    for amount in ("12.345", "-5", "1e3", "", "１０００"):
        bad = requests.post(
            url, json={"phone": "15900000009", "first_deposit_amount": amount}, timeout=10
        )
        assert bad.status_code == 400, amount

    def deposit(phone, amount):
        return requests.post(
            url, json={"phone": phone, "first_deposit_amount": amount}, timeout=10
        ).json()

    assert deposit("15900000010", "1")["error"].startswith("no account")
    first, second = deposit("15900000009", "200"), deposit("15900000009", "9000")
    assert (first["first"], second["first"]) == (True, False)
    looked_up = requests.get(f"{upstream.url}/v1/accounts?phone=15900000009", timeout=10).json()
    assert looked_up["first_deposit_amount"] == "200"


BASE = {
    "phone": "15900000001",
    "opened": True,
    "account_id": "A1",
    "opened_at": "2026-12-01T10:00:00+08:00",
    "channel": "app",
}


@pytest.mark.parametrize(
    ("deposit", "message"),
    [
        ({"first_deposit_at": "2026-12-02T10:00:00+08:00"}, "first_deposit_amount"),
        ({"first_deposit_amount": "100.00"}, "first_deposit_at"),
        ({"first_deposit_at": "2026-12-02T10:00:00", "first_deposit_amount": "1"}, "time zone"),
        (
            {"first_deposit_at": "2026-11-30T10:00:00+08:00", "first_deposit_amount": "1"},
            "before the account was opened",
        ),
        ({"first_deposit_at": "2026-12-02T10:00:00+08:00", "first_deposit_amount": 100.5}, "yuan"),
        (
            {"first_deposit_at": "2026-12-02T10:00:00+08:00", "first_deposit_amount": "1.005"},
            "yuan",
        ),
        (
            {"first_deposit_at": "2026-12-02T10:00:00+08:00", "first_deposit_amount": "9" * 40},
            "yuan",
        ),
    ],
)
def test_a_deposit_the_contract_does_not_allow_is_an_error_never_a_decision(deposit, message):
    with pytest.raises(InvalidUpstreamReply, match=message):
        parse_reply("15900000001", {**BASE, **deposit})


def test_a_deposit_dated_in_the_future_is_an_error(upstream, campaign):
    invitation = InvitationFactory(campaign=campaign)
    account = opened(invitation.invitee_phone, deposit="2000")
    account["first_deposit_at"] = (timezone.now() + timedelta(days=2)).isoformat()
    upstream.add_accounts([account])

    cycle = poll_invitations()

    invitation.refresh_from_db()
    assert (cycle.errors, invitation.status) == (1, "pending")
    assert "first_deposit_at" in invitation.last_error and "future" in invitation.last_error
