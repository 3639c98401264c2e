"""Signed "account opened" and "account funded" events from the account-opening system
(docs/account-opening-api.md).

They follow the Standard Webhooks specification, so that any sender built on it interoperates:
``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers; ``v1,`` HMAC-SHA256
signatures over ``id.timestamp.body`` with ``whsec_`` base64 secrets; several signatures and
several secrets at once (rotation); timestamps more than five minutes off refused. The signature
itself is checked by the specification's reference code (``standardwebhooks``), with each of
``ACCOUNT_OPENING_WEBHOOK_SECRETS``.

An event is a signal, never a fact: what it says brings the invitee's pending invitations' check
forward to now, and the normal lookup decides (``invitations.services.opening_events``)."""

import base64
import binascii
import json
import re
import time
from dataclasses import dataclass

from django.conf import settings
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from .contract import CHANNELS, PHONE

TOLERANCE_SECONDS = 5 * 60  # the specification's
# An account opened, and its first deposit arrived: both bring the invitee's check forward (a
# campaign may qualify a friend only on the deposit).
EVENT_TYPES = ("account.opened", "account.funded")
# What a header may hold before it is even looked at: ids are short printable ASCII, a timestamp
# is seconds, a signature list is a few ``v1,<base64 of 32 bytes>`` separated by spaces.
EVENT_ID = re.compile(r"[\x21-\x7e]{1,255}", re.ASCII)
TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
SIGNATURE = re.compile(r"v1,[A-Za-z0-9+/]{43}=", re.ASCII)
MAX_SIGNATURES = 10


class EventRefused(Exception):
    """Why an event was refused; ``reason`` is a short code (metrics, the sender's reply)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class OpeningEvent:
    event_id: str
    sent_at: int  # the sender's webhook-timestamp, Unix seconds
    phone: str
    account_id: str
    channel: str  # "" when the sender named a channel we do not know
    ignored: bool = False  # another event type: acknowledged, nothing to do


def secrets_in_use() -> list[Webhook]:
    return [Webhook(secret) for secret in settings.ACCOUNT_OPENING_WEBHOOK_SECRETS]


def verify(body: bytes, headers, *, now: float | None = None) -> OpeningEvent:
    """The event a request carries, checked. Raises ``EventRefused``: "headers" (missing or
    malformed), "timestamp" (more than five minutes off), "signature" (no signature matches any
    secret), "body" (not the documented JSON)."""
    event_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not EVENT_ID.fullmatch(event_id) or not TIMESTAMP.fullmatch(timestamp):
        raise EventRefused("headers", "webhook-id and webhook-timestamp are required")
    offset = int(timestamp) - (time.time() if now is None else now)
    if abs(offset) > TOLERANCE_SECONDS:
        raise EventRefused(
            "timestamp", f"webhook-timestamp is {offset:+.0f} s from our clock (limit 300 s)"
        )
    # Only well-formed v1 signatures reach the reference check (it stops at the first malformed
    # one); other versions are skipped, as the specification says.
    candidates = [part for part in signatures.split(" ") if SIGNATURE.fullmatch(part)]
    if not candidates:
        raise EventRefused("headers", "webhook-signature holds no v1 signature")
    checked = {
        "webhook-id": event_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": " ".join(candidates[:MAX_SIGNATURES]),
    }
    if not any(_signed_by(webhook, body, checked) for webhook in secrets_in_use()):
        raise EventRefused("signature", "no signature matches")
    return _parse(event_id, int(timestamp), body)


def _signed_by(webhook: Webhook, body: bytes, headers: dict) -> bool:
    try:
        webhook.verify(body, headers, json_parse=False)
    except (WebhookVerificationError, ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return True


def _parse(event_id: str, sent_at: int, body: bytes) -> OpeningEvent:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise EventRefused("body", "the body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise EventRefused("body", 'the body is not an object with a "type"')
    if payload["type"] not in EVENT_TYPES:
        return OpeningEvent(event_id, sent_at, "", "", "", ignored=True)
    data = payload.get("data")
    if not isinstance(data, dict):
        raise EventRefused("body", '"data" is not an object')
    phone, account_id, channel = data.get("phone"), data.get("account_id"), data.get("channel")
    if not isinstance(phone, str) or not PHONE.fullmatch(phone):
        raise EventRefused("body", '"data.phone" is not 11 ASCII digits from 1')
    if not isinstance(account_id, str) or not 0 < len(account_id) <= 64:
        raise EventRefused("body", '"data.account_id" is not a string of 1 to 64 characters')
    if channel is not None and not isinstance(channel, str):
        raise EventRefused("body", '"data.channel" is not a string')
    return OpeningEvent(
        event_id, sent_at, phone, account_id, channel if channel in CHANNELS else ""
    )


def new_secret() -> str:
    """A fresh ``whsec_`` secret (24 random bytes), for ``ACCOUNT_OPENING_WEBHOOK_SECRETS``."""
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
