"""The outbox against a real gateway process (``devtools.message_gateway``) over HTTP, with
worker processes of their own connections, one of them SIGKILLed while delivering, and the
gateway failing, hanging past the sender's timeout: every message is delivered, once per
idempotency key, counted with the gateway's own records."""

import os
import signal
import time
from collections import Counter

import pytest

from notifications.models import Message
from notifications.services import Notice, notify
from tests.factories import UserFactory
from tests.notifications.gateway import gateway
from tests.processes import run_workers, start_worker

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = 30
TOKEN = "gateway-token"


def worker_settings(url: str) -> dict:
    return {
        "SMS_SENDER": "notifications.sms.HttpSender",
        "SMS_GATEWAY_URL": f"{url}/sms",
        "SMS_GATEWAY_TOKEN": TOKEN,
        "MESSAGE_GATEWAY_TIMEOUT": "0.5",  # a hung answer times out quickly
        "MESSAGE_LEASE_SECONDS": "3",  # a killed worker's batches come back soon
        "MESSAGE_RETRY_FIRST_SECONDS": "0.2",
        "MESSAGE_MAX_ATTEMPTS": "100",
    }


def test_every_message_is_delivered_once_through_kills_failures_and_hangs(settings):
    settings.MESSAGE_BURST_SECONDS = 0
    users = UserFactory.create_batch(PEOPLE)
    notify(
        [
            Notice(user.pk, Message.Kind.REWARD_ISSUED, {"card": "JD", "points": 0}, "13900000000")
            for user in users
        ]
    )
    with gateway(
        "--token",
        TOKEN,
        "--fail-rate",
        "0.3",
        "--hang-rate",
        "0.15",
        "--hang-seconds",
        "1.5",
        "--seed",
        "5",
    ) as running:
        env = worker_settings(running.url)
        doomed = start_worker("devtools.delivery.deliver_until_done", 60, **env)
        deadline = time.monotonic() + 60
        while len(running.records()) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(doomed.pid, signal.SIGKILL)  # in the middle of its deliveries
        doomed.wait(timeout=10)
        assert doomed.returncode == -signal.SIGKILL

        run_workers("devtools.delivery.deliver_until_done", [(90,), (90,)], timeout=150, **env)
        records = running.records()

    statuses = Counter(Message.objects.values_list("status", flat=True))
    assert statuses == {"sent": PEOPLE}
    keys = {str(key) for key in Message.objects.values_list("batch_key", flat=True)}
    delivered = Counter(
        record["key"] for record in records if record["outcome"].startswith("delivered")
    )
    assert set(delivered) == keys  # every send key reached the gateway ...
    assert set(delivered.values()) == {1}  # ... and was delivered once
    outcomes = Counter(record["outcome"] for record in records)
    # the faults happened: refusals, answers lost after delivery, and retries the key saved
    assert outcomes["failed"] and outcomes["delivered_hung"] and outcomes["duplicate"]
    assert all(record["phone"] == "13900000000" for record in records)


def test_a_person_who_chose_the_app_is_told_by_push_through_the_gateway(settings):
    from devtools.delivery import deliver_until_done
    from notifications.models import Preference

    settings.MESSAGE_BURST_SECONDS = 0
    settings.PUSH_SENDER = "notifications.push.HttpSender"
    settings.PUSH_GATEWAY_TOKEN = TOKEN
    from signin.models import AppIdentity

    user = UserFactory()
    AppIdentity.objects.create(issuer=settings.APP_HANDOFF_ISSUER, subject="C9", user=user)
    Preference.objects.create(user=user, channel="push", language="en")
    notify(
        [Notice(user.pk, Message.Kind.REWARD_ISSUED, {"card": "JD", "points": 5}, "13900000000")]
    )
    with gateway("--token", TOKEN) as running:
        settings.PUSH_GATEWAY_URL = f"{running.url}/push"
        assert deliver_until_done(10)["sent"] == 1
        [record] = running.records()
    assert record["path"] == "/push" and record["user"] == "C9"  # the app's customer id
    assert "arrived" in record["text"] and record["outcome"] == "delivered"
    assert Message.objects.get().channel == "push"
