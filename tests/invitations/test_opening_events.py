"""Signed "account opened" events (Standard Webhooks): a signal that brings the invitee's
pending invitations' lookup forward, never a fact that grants; every hostile request refused
with a clear reason and nothing changed."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from account_opening.events import new_secret
from invitations.check_policy import Priority
from invitations.models import Invitation, OpeningEvent, OpeningEventCount
from tests.factories import InvitationFactory, qualified_invitation

pytestmark = pytest.mark.django_db
URL = "/hooks/account-opened"
SECRET = new_secret()


@pytest.fixture(autouse=True)
def secrets(settings):
    settings.ACCOUNT_OPENING_WEBHOOK_SECRETS = [SECRET]
    return settings


def event_body(phone="13900139000", **data) -> dict:
    return {
        "type": "account.opened",
        "timestamp": datetime.now(UTC).isoformat(),
        "data": {
            "phone": phone,
            "account_id": "A1",
            "channel": "app",
            "opened_at": datetime.now(UTC).isoformat(),
            **data,
        },
    }


def signed(payload, *, secret=SECRET, event_id=None, at=None, signature=None) -> dict:
    """The request's keyword arguments for the test client, signed as a sender does."""
    body = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    body = body.decode() if isinstance(body, bytes) else body
    at = at or datetime.now(UTC)
    event_id = event_id or f"msg_{time.monotonic_ns()}"
    if signature is None:
        signature = Webhook(secret).sign(event_id, at, body)
    return {
        "data": body,
        "content_type": "application/json",
        "headers": {
            "webhook-id": event_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
        },
    }


def post(client, payload, **options):
    response = client.post(URL, **signed(payload, **options))
    return response.status_code, response.json()


def later() -> datetime:
    return timezone.now() + timedelta(hours=5)


def test_an_event_brings_the_invitees_pending_invitations_to_the_front_and_grants_nothing(client):
    waiting = InvitationFactory(invitee_phone="13900139000", next_check_at=later())
    other = InvitationFactory(invitee_phone="13900139001", next_check_at=later())

    assert post(client, event_body()) == (200, {"outcome": "accepted"})

    waiting.refresh_from_db()
    other.refresh_from_db()
    assert waiting.next_check_at <= timezone.now() and waiting.check_priority == Priority.SIGNAL
    assert waiting.status == Invitation.Status.PENDING  # the lookup decides, not the event
    assert other.next_check_at > timezone.now() + timedelta(hours=4)
    [event] = OpeningEvent.objects.all()
    assert event.invitation_ids == [waiting.pk]
    assert "13900139000" not in json.dumps(list(OpeningEvent.objects.values()), default=str)


def test_a_phone_nobody_invited_is_answered_like_any_other_and_leaves_no_number(client):
    assert post(client, event_body(phone="13700137000")) == (200, {"outcome": "accepted"})
    [event] = OpeningEvent.objects.values()
    assert event["invitation_ids"] == []
    assert "13700137000" not in json.dumps(event, default=str)


def test_a_replayed_id_does_nothing_more(client):
    invitation = InvitationFactory(invitee_phone="13900139000", next_check_at=later())
    first = signed(event_body(), event_id="msg_1")
    assert client.post(URL, **first).json() == {"outcome": "accepted"}
    Invitation.objects.filter(pk=invitation.pk).update(next_check_at=later())
    assert client.post(URL, **first).json() == {"outcome": "duplicate"}
    invitation.refresh_from_db()
    assert invitation.next_check_at > timezone.now() + timedelta(hours=4)
    assert OpeningEvent.objects.count() == 1


def test_every_rotated_secret_is_accepted_and_no_other(client, settings):
    old, new = new_secret(), new_secret()
    settings.ACCOUNT_OPENING_WEBHOOK_SECRETS = [new, old]
    assert post(client, event_body(), secret=old)[0] == 200
    assert post(client, event_body(), secret=new)[0] == 200
    status, answer = post(client, event_body(), secret=new_secret())
    assert (status, answer["outcome"]) == (401, "refused_signature")


def test_one_good_signature_among_several_is_enough_whatever_the_others_look_like(client):
    body = json.dumps(event_body())
    at = datetime.now(UTC)
    good = Webhook(SECRET).sign("msg_many", at, body)
    wrong = Webhook(new_secret()).sign("msg_many", at, body)
    header = f"v1,garbage v2,{good[3:]} {wrong} nonsense {good}"
    response = client.post(URL, **signed(body, event_id="msg_many", at=at, signature=header))
    assert response.status_code == 200


@pytest.mark.parametrize("offset", [-301, 301, -86400 * 365])
def test_a_timestamp_more_than_five_minutes_off_is_refused(client, offset):
    at = datetime.now(UTC) + timedelta(seconds=offset)
    status, answer = post(client, event_body(), at=at)
    assert (status, answer["outcome"]) == (401, "refused_timestamp")
    assert OpeningEvent.objects.count() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"webhook-id": "msg_1", "webhook-timestamp": "soon", "webhook-signature": "v1,x"},
        {"webhook-id": "", "webhook-timestamp": "1", "webhook-signature": "v1,x"},
        {"webhook-id": "bad id", "webhook-timestamp": "1", "webhook-signature": "v1,x"},
        {"webhook-id": "msg_1", "webhook-timestamp": "1e9", "webhook-signature": "v1,x"},
    ],
)
def test_missing_or_malformed_headers_are_refused(client, headers):
    response = client.post(URL, data="{}", content_type="application/json", headers=headers)
    assert (response.status_code, response.json()["outcome"]) == (400, "refused_headers")


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"\xff\xfe\x00",
        "[]",
        {"type": 7},
        {"type": "account.opened", "data": []},
        {"type": "account.opened", "data": {"phone": 13900139000, "account_id": "A1"}},
        {"type": "account.opened", "data": {"phone": "139 0013 9000", "account_id": "A1"}},
        {"type": "account.opened", "data": {"phone": "１３９００１３９０００", "account_id": "A1"}},
        {"type": "account.opened", "data": {"phone": "13900139000", "account_id": ""}},
        {"type": "account.opened", "data": {"phone": "13900139000", "account_id": "x" * 65}},
        {
            "type": "account.opened",
            "data": {"phone": "13900139000", "account_id": "A", "channel": 1},
        },
    ],
)
def test_a_body_that_is_not_the_documented_json_is_refused(client, payload):
    invitation = InvitationFactory(invitee_phone="13900139000", next_check_at=later())
    if isinstance(payload, bytes):
        body_text = payload.decode("latin-1")
        # signed over the exact bytes, as a sender would
        at, event_id = datetime.now(UTC), "msg_raw"
        webhook = Webhook(SECRET)
        signature = (
            webhook.sign(event_id, at, body_text) if payload.isascii() else "v1," + "A" * 43 + "="
        )
        response = client.post(
            URL,
            data=payload,
            content_type="application/json",
            headers={
                "webhook-id": event_id,
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": signature,
            },
        )
        status = response.status_code
    else:
        status, _ = post(client, payload)
    assert status in (400, 401)
    invitation.refresh_from_db()
    assert invitation.next_check_at > timezone.now() + timedelta(hours=4)
    assert OpeningEvent.objects.count() == 0


def test_unknown_fields_are_ignored_and_other_event_types_acknowledged(client):
    assert post(client, event_body(branch="Shenzhen", extra={"a": 1}))[0] == 200
    assert post(client, {"type": "account.closed", "data": {}}) == (200, {"outcome": "ignored"})


def test_an_oversize_body_is_refused_unread(client, settings):
    settings.ACCOUNT_OPENING_EVENT_MAX_BYTES = 1024
    payload = event_body(padding="x" * 2000)
    status, answer = post(client, payload)
    assert (status, answer["outcome"]) == (413, "too_large")
    assert OpeningEvent.objects.count() == 0


def test_an_event_for_a_qualified_invitation_changes_nothing(client):
    qualified = qualified_invitation(invitee_phone="13900139000", next_check_at=later())
    assert post(client, event_body())[0] == 200
    qualified.refresh_from_db()
    assert qualified.status == "qualified" and qualified.next_check_at > timezone.now()
    assert OpeningEvent.objects.get().invitation_ids == []


def test_an_event_before_its_invitation_exists_leaves_the_later_invitation_alone(client):
    assert post(client, event_body())[0] == 200
    invitation = InvitationFactory(invitee_phone="13900139000", next_check_at=later())
    invitation.refresh_from_db()
    assert invitation.check_priority != Priority.SIGNAL  # polling finds it, as always


def test_a_sender_over_its_rate_is_told_when_to_come_back(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "opening_events_per_sender": (3, 60)}
    answers = [post(client, event_body())[0] for _ in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    response = client.post(URL, **signed(event_body()))
    assert response["Retry-After"] == "60"
    assert OpeningEvent.objects.count() == 3


def test_the_endpoint_is_off_without_a_secret(client, settings):
    settings.ACCOUNT_OPENING_WEBHOOK_SECRETS = []
    status, answer = post(client, event_body())
    assert (status, answer["outcome"]) == (503, "off")


def test_each_outcome_is_counted_per_minute_for_the_metrics(client):
    post(client, event_body())
    post(client, event_body(), secret=new_secret())
    post(client, event_body(), secret=new_secret())
    counts = dict(OpeningEventCount.objects.values_list("outcome", "count"))
    assert counts == {"accepted": 1, "refused_signature": 2}
    metrics = client.get(reverse("metrics")).content.decode()
    assert 'referral_opening_events_15m{outcome="refused_signature"} 2' in metrics


@pytest.mark.django_db(transaction=True)
def test_while_the_database_is_away_the_sender_is_told_to_retry_and_nothing_is_lost(client):
    invitation = InvitationFactory(invitee_phone="13900139000", next_check_at=later())
    request = signed(event_body(), event_id="msg_outage")
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = 1  # nothing listens there: every query fails
    try:
        response = client.post(URL, **request)
    finally:
        connection.settings_dict["PORT"] = port
        connection.close()
    assert (response.status_code, response.json()["outcome"]) == (503, "unavailable")
    assert response["Retry-After"] == "5"
    assert client.post(URL, **request).json() == {"outcome": "accepted"}  # the retry
    invitation.refresh_from_db()
    assert invitation.next_check_at <= timezone.now()
