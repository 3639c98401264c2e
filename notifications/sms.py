"""Sending a text message, through one small interface chosen by ``settings.SMS_SENDER``: a
class whose ``send(phone, text)`` sends or raises ``SmsNotSent``. A sender may also take
``idempotency_key``: the outbox passes one so that a gateway can drop a retry it already
delivered (the Stripe and Standard Webhooks convention: an ``Idempotency-Key`` header)."""

import inspect
import logging

import requests
from django.conf import settings
from django.utils.module_loading import import_string

from core.outbound import refuse_inside_transaction
from core.privacy import mask_phone

logger = logging.getLogger(__name__)


class SmsNotSent(Exception):
    """The gateway did not take the message; nothing was sent."""


class GatewayBusy(SmsNotSent):
    """The gateway answered 429: over its quota, nothing sent; ``retry_after`` seconds to wait
    (from its Retry-After, at most a minute)."""

    def __init__(self, retry_after: float):
        super().__init__(f"gateway answered HTTP 429 (retry after {retry_after:g} s)")
        self.retry_after = retry_after


class ConsoleSender:
    """Development and demo: the message goes to the log (the number masked). Refused by the
    production settings."""

    def send(self, phone: str, text: str, idempotency_key: str = "") -> None:
        logger.warning("SMS to %s: %s", mask_phone(phone), text)


def post(url: str, token: str, payload: dict, idempotency_key: str, timeout: tuple) -> None:
    """One JSON POST to a gateway: bearer token, bounded time, no redirects; raises
    ``SmsNotSent`` unless it answers 2xx (the push sender shares it)."""
    headers = {"Authorization": f"Bearer {token}"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    try:
        response = requests.post(
            url, json=payload, headers=headers, timeout=timeout, allow_redirects=False
        )
    except requests.RequestException as error:
        raise SmsNotSent(f"gateway unreachable: {type(error).__name__}") from None
    if response.status_code == 429:
        raise GatewayBusy(_retry_after(response.headers.get("Retry-After", "")))
    if not 200 <= response.status_code < 300:
        raise SmsNotSent(f"gateway answered HTTP {response.status_code}")


def _retry_after(value: str) -> float:
    """Retry-After in seconds, within [1, 60]; anything else (a date, garbage) counts as 5."""
    try:
        seconds = float(value)
    except ValueError:
        return 5.0
    return min(max(seconds, 1.0), 60.0) if seconds == seconds else 5.0


class HttpSender:
    """A real gateway: one JSON POST per message, bearer token, bounded time, no redirects."""

    def send(self, phone: str, text: str, idempotency_key: str = "") -> None:
        post(
            settings.SMS_GATEWAY_URL,
            settings.SMS_GATEWAY_TOKEN,
            {"phone": phone, "text": text},
            idempotency_key,
            (2, settings.MESSAGE_GATEWAY_TIMEOUT),
        )


outbox: list[tuple[str, str]] = []


class OutboxSender:
    """Tests: messages are appended to ``outbox`` (as Django's locmem mail backend does)."""

    def send(self, phone: str, text: str, idempotency_key: str = "") -> None:
        outbox.append((phone, text))


def call_sender(sender, *args, idempotency_key: str) -> None:
    """``sender.send(*args)``, with the key when the sender takes one (an adapter written to
    the two-argument contract still plugs in)."""
    if "idempotency_key" in inspect.signature(sender.send).parameters:
        sender.send(*args, idempotency_key=idempotency_key)
    else:
        sender.send(*args)


def send_sms(phone: str, text: str, *, idempotency_key: str = "") -> None:
    refuse_inside_transaction("send_sms")  # a slow gateway must hold no row lock
    call_sender(import_string(settings.SMS_SENDER)(), phone, text, idempotency_key=idempotency_key)
