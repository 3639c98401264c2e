"""The message gateway's quota, shared by everything sent through it: the outbox's SMS and push
(``services.deliver_messages``) and the one-time codes, which do not wait for the outbox
(``send_code``). One ``SharedRateLimiter`` row across every web and worker process, so that
together they never send faster than ``MESSAGE_GATEWAY_RATE``, and a 429 holds all of them."""

import time

from django.conf import settings

from core.rate_limit import SharedRateLimiter

from .sms import GatewayBusy, SmsNotSent, send_sms

LIMITER_NAME = "message_gateway"
CODE_SLOT_WAIT_SECONDS = 3.0  # a person is waiting on the page for this text


def gateway_limiter() -> SharedRateLimiter:
    return SharedRateLimiter(LIMITER_NAME, settings.MESSAGE_GATEWAY_RATE, cap=60)


def send_code(phone: str, text: str) -> None:
    """Text a one-time code now: not through the outbox (no inbox copy, no quiet hours, no
    burst wait: the person is waiting for it), but in a slot of the gateway's shared rate like
    every send, so that a backlog being delivered leaves room for it and neither pushes the
    gateway over its quota. The outbox's workers reserve one slot ahead at a time, so a code
    waits at most a few slots. Raises ``SmsNotSent`` when no slot comes within
    ``CODE_SLOT_WAIT_SECONDS`` (the gateway asked everyone to wait: nothing is sent) or the
    gateway refuses; a 429 holds the outbox back too."""
    limiter = gateway_limiter()
    if not limiter.wait_for_slot(time.monotonic() + CODE_SLOT_WAIT_SECONDS):
        raise SmsNotSent("the gateway asked us to wait (HTTP 429 earlier)")
    try:
        send_sms(phone, text)
    except GatewayBusy as busy:
        limiter.push_back(busy.retry_after)
        raise
