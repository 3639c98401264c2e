"""One-time codes go at once, not through the outbox, but in the gateway's shared rate like
every send: a backlog being delivered leaves room for them, and a 429 holds everyone."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import RateLimit
from invitations.exceptions import CodeNotSent
from invitations.models import PhoneVerification
from invitations.services import send_phone_code
from notifications import sms
from notifications.gateway import CODE_SLOT_WAIT_SECONDS, LIMITER_NAME, gateway_limiter

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def limiter_free_at():
    return RateLimit.objects.get(name=LIMITER_NAME).next_free_at


def test_a_code_takes_a_slot_of_the_gateways_rate():
    before = timezone.now()
    send_phone_code(None, "13900000001", address="203.0.113.9")
    assert len(sms.outbox) == 1
    assert limiter_free_at() > before  # the outbox's next send comes after it


def test_while_the_gateway_asks_everyone_to_wait_a_code_is_refused_quickly_and_sends_nothing():
    gateway_limiter().push_back(30)  # the outbox was answered 429, Retry-After 30
    started = time.monotonic()
    with pytest.raises(CodeNotSent):
        send_phone_code(None, "13900000002", address="203.0.113.9")
    assert time.monotonic() - started < CODE_SLOT_WAIT_SECONDS + 2  # no waiting for 30 s
    assert sms.outbox == []
    # still counted by the throttles, and no code left that could be entered
    verification = PhoneVerification.objects.get(phone="13900000002")
    assert verification.expires_at <= timezone.now()


def test_a_code_answered_429_holds_the_outbox_back_too(monkeypatch):
    def busy(self, phone, text, idempotency_key=""):
        raise sms.GatewayBusy(30)

    monkeypatch.setattr(sms.OutboxSender, "send", busy)
    with pytest.raises(CodeNotSent):
        send_phone_code(None, "13900000003", address="203.0.113.9")
    assert limiter_free_at() >= timezone.now() + timedelta(seconds=25)
