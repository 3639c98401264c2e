"""The account-opening system's side of the signed events: the simulator sends an
"account opened" event for each account it opens, and an "account funded" one for its first
deposit, as a real Standard Webhooks sender would
(docs/account-opening-api.md): after a delay drawn from a configurable distribution, some lost,
some sent twice, out of order, a share signed with a wrong secret, and retried with backoff on
anything but a 2xx (up to ``attempts`` times)."""

import heapq
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from standardwebhooks.webhooks import Webhook

from account_opening.events import new_secret
from core.backoff import doubling


@dataclass
class EventSettings:
    url: str = ""  # where events go; empty: none are sent
    secret: str = ""
    delay_seconds: float = 1.0  # mean of an exponential delay before the first attempt
    loss: float = 0.0  # share never sent
    duplicates: float = 0.0  # share sent twice (the same id)
    bad_signatures: float = 0.0  # share whose first attempt is signed with a wrong secret
    attempts: int = 8  # first try and retries, the wait doubling from 0.5 s up to 30 s
    seed: int | None = None


@dataclass
class EventStats:
    opened: int = 0
    lost: int = 0
    duplicated: int = 0
    signed_wrong: int = 0
    attempts: int = 0
    delivered: int = 0  # answered 2xx
    refused: int = 0  # answers that were not 2xx (each is retried)
    gave_up: int = 0
    answers: dict = field(default_factory=dict)  # status -> count


class EventSender:
    """A thread that delivers queued events when they are due."""

    def __init__(self, settings: EventSettings):
        self.settings = settings
        self.random = random.Random(settings.seed)
        self.webhook = Webhook(settings.secret) if settings.secret else None
        self.wrong = Webhook(new_secret())
        self.stats = EventStats()
        self.queue: list = []  # (due, sequence, delivery)
        self.lock = threading.Condition()
        self.session = requests.Session()
        self.sequence = 0
        if settings.url and self.webhook:
            threading.Thread(target=self._run, daemon=True, name="event-sender").start()

    def account_opened(self, account: dict) -> None:
        self._send("account.opened", account, ("phone", "account_id", "channel", "opened_at"))

    def account_funded(self, account: dict) -> None:
        fields = ("phone", "account_id", "first_deposit_at", "first_deposit_amount")
        self._send("account.funded", account, fields)

    def _send(self, event_type: str, account: dict, fields: tuple) -> None:
        if not self.settings.url or not self.webhook:
            return
        with self.lock:
            self.stats.opened += 1
            if self.random.random() < self.settings.loss:
                self.stats.lost += 1
                return
            body = json.dumps(
                {
                    "type": event_type,
                    "timestamp": datetime.now(UTC).isoformat(),
                    "data": {key: account[key] for key in fields},
                }
            )
            event_id = f"msg_{uuid.uuid4().hex}"
            copies = 2 if self.random.random() < self.settings.duplicates else 1
            self.stats.duplicated += copies - 1
            for _ in range(copies):
                bad = self.random.random() < self.settings.bad_signatures
                self.stats.signed_wrong += bad
                delay = self.random.expovariate(1 / self.settings.delay_seconds)
                self._push(time.monotonic() + delay, {"id": event_id, "body": body, "bad": bad})
            self.lock.notify()

    def _push(self, due: float, delivery: dict) -> None:
        self.sequence += 1
        delivery.setdefault("attempt", 0)
        heapq.heappush(self.queue, (due, self.sequence, delivery))

    def _run(self) -> None:
        while True:
            with self.lock:
                while not self.queue or self.queue[0][0] > time.monotonic():
                    wait = self.queue[0][0] - time.monotonic() if self.queue else None
                    self.lock.wait(timeout=wait)
                _, _, delivery = heapq.heappop(self.queue)
            self._deliver(delivery)

    def _deliver(self, delivery: dict) -> None:
        delivery["attempt"] += 1
        signer = self.wrong if delivery["bad"] and delivery["attempt"] == 1 else self.webhook
        now = datetime.now(UTC)
        headers = {
            "webhook-id": delivery["id"],
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signer.sign(delivery["id"], now, delivery["body"]),
            "content-type": "application/json",
        }
        try:
            status = self.session.post(
                self.settings.url, data=delivery["body"].encode(), headers=headers, timeout=5
            ).status_code
        except requests.RequestException:
            status = 0  # no answer: retried like a refusal
        with self.lock:
            self.stats.attempts += 1
            self.stats.answers[status] = self.stats.answers.get(status, 0) + 1
            if 200 <= status < 300:
                self.stats.delivered += 1
                return
            self.stats.refused += 1
            if delivery["attempt"] >= self.settings.attempts:
                self.stats.gave_up += 1
                return
            wait = doubling(delivery["attempt"], 0.5, 30.0)
            self._push(time.monotonic() + wait, delivery)
            self.lock.notify()

    def snapshot(self) -> dict:
        with self.lock:
            return {
                **vars(self.stats),
                "answers": dict(self.stats.answers),
                "queued": len(self.queue),
            }
