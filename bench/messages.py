"""10. Messages to inviters: what the outbox costs the grant path, and how fast a burst drains.

- The grant path (``grant_reward``, one invitation per transaction, and ``grant_rewards`` in
  batches of 200), two processes, with the inviters' messages written in the grant's statement
  (``rewards.batch_writes``) against the same path without them, rounds interleaved; the ratio
  is paired within a round.
- A burst: ``count`` grants (batches of 200) write ``count`` messages, one per inviter; two
  delivery workers (``notifications.services.deliver_messages``, in processes of their own)
  send them to the gateway stand-in (``devtools.message_gateway``, a process over HTTP) that
  allows ``rate`` a second and answers 429 above it, with ``MESSAGE_GATEWAY_RATE`` set to the
  same rate. The backlog (messages due and not sent, and the oldest one's age) is sampled every
  second; the gateway's own records say how many it delivered, how many twice, and in which
  second.
"""

import sys
import tempfile
import time
from collections import Counter

import requests
from django.conf import settings

from devtools.processes import listening

from . import grant_path
from .common import execute, median, run_parallel, scalar, start

ROUNDS = 3


def service_worker(ids: list[int], folder: str, parties: int, notify: bool) -> dict:
    _notices(notify)
    return grant_path.service_worker(ids, folder, parties)


def batch_worker(ids: list[int], folder: str, parties: int, notify: bool) -> dict:
    _notices(notify)
    return grant_path.batch_worker(ids, 200, folder, parties)


def _notices(on: bool) -> None:
    """The baseline: the same grant path with the messages left out of its statement."""
    from rewards import batch_writes

    batch_writes._CONSTANTS["notify"] = on


def _grant_rate(worker: str, count: int, notify: bool) -> float:
    kind_id, ids = grant_path._qualified(count)
    slices = [ids[index::2] for index in range(2)]
    with tempfile.TemporaryDirectory() as folder:
        results = run_parallel(worker, [(part, folder, 2, notify) for part in slices])
    done = sum(result["done"] for result in results)
    messages = scalar(
        "SELECT count(*) FROM notifications_message m JOIN invitations_customer c "
        "ON c.user_id = m.recipient_id JOIN rewards_grant g ON g.inviter_id = c.id "
        "JOIN invitations_campaign p ON p.id = g.campaign_id WHERE p.card_kind_id = %s",
        [kind_id],
    )
    if messages != (count if notify else 0):
        raise AssertionError(f"{messages} messages for {count} grants (notify={notify})")
    return done / (max(r["end"] for r in results) - min(r["start"] for r in results))


def _cost(quick: bool) -> dict:
    single, batch = (300, 1000) if quick else (1000, 5000)
    rounds = 1 if quick else ROUNDS
    table = {}
    for label, worker, count in (
        ("grant_reward", "bench.messages.service_worker", single),
        ("batches of 200", "bench.messages.batch_worker", batch),
    ):
        with_, without = [], []
        for round_number in range(rounds):
            order = (True, False) if round_number % 2 == 0 else (False, True)
            for notify in order:
                (with_ if notify else without).append(_grant_rate(worker, count, notify))
        ratio = median([a / b for a, b in zip(with_, without, strict=True)])
        table[label] = {"with": median(with_), "without": median(without), "ratio": ratio}
        print(
            f"  {label}: {median(with_):.0f}/s with messages, {median(without):.0f}/s without,"
            f" {ratio:.2f}x",
            flush=True,
        )
    return table


def _backlog() -> tuple[int, float]:
    row = scalar(
        "SELECT json_build_array(count(*), coalesce(extract(epoch FROM now() - "
        "min(next_attempt_at)), 0)) FROM notifications_message "
        "WHERE status = 'waiting' AND next_attempt_at <= now()"
    )
    return int(row[0]), float(row[1])


def _drain(quick: bool) -> dict:
    from rewards.services import grant_rewards

    count, rate = (1000, 100.0) if quick else (10_000, 100.0)
    settings.MESSAGE_BURST_SECONDS = 0
    execute("DELETE FROM notifications_message")  # the cost runs' messages: not this burst
    _, ids = grant_path._qualified(count)
    for index in range(0, len(ids), 200):
        grant_rewards(ids[index : index + 200])
    gateway = [sys.executable, "-m", "devtools.message_gateway", "--port", "0", "--rate", str(rate)]
    with listening(gateway) as url:
        env = {
            "SMS_SENDER": "notifications.sms.HttpSender",
            "SMS_GATEWAY_URL": f"{url}/sms",
            "MESSAGE_GATEWAY_RATE": str(rate),
            "MESSAGE_BURST_SECONDS": "0",
            "QUIET_HOURS": "",
        }
        samples = []
        started = time.monotonic()
        workers = [
            start("devtools.delivery.deliver_until_done", 3600, 50, env=env) for _ in range(2)
        ]
        while any(worker.poll() is None for worker in workers):
            due, oldest = _backlog()
            samples.append((round(time.monotonic() - started, 1), due, round(oldest, 1)))
            time.sleep(1)
        seconds = time.monotonic() - started
        for worker in workers:
            if worker.returncode != 0:
                raise RuntimeError(f"delivery worker failed: {worker.stderr.read()}")
        records = requests.get(f"{url}/_gw/records", timeout=30).json()
    outcomes = Counter(record["outcome"] for record in records)
    delivered = Counter(r["key"] for r in records if r["outcome"].startswith("delivered"))
    per_second = Counter(int(r["at"]) for r in records if r["outcome"].startswith("delivered"))
    sent = scalar("SELECT count(*) FROM notifications_message WHERE status = 'sent'")
    result = {
        "count": count,
        "rate": rate,
        "seconds": seconds,
        "sent": sent,
        "delivered_keys": len(delivered),
        "delivered_twice": sum(1 for n in delivered.values() if n > 1),
        "over_rate_429": outcomes["over_rate"],
        "most_in_one_second": max(per_second.values(), default=0),
        "oldest_due_max_s": max((s[2] for s in samples), default=0),
        "samples": samples,
    }
    print(
        f"  drain: {sent}/{count} sent in {seconds:.0f} s ({sent / seconds:.0f}/s, gateway allows"
        f" {rate:.0f}/s), at most {result['most_in_one_second']} in one second,"
        f" {result['over_rate_429']} answered 429, {result['delivered_twice']} delivered twice,"
        f" oldest due message {result['oldest_due_max_s']:.0f} s",
        flush=True,
    )
    return result


def run(quick: bool) -> dict:
    return {"cost": _cost(quick), "drain": _drain(quick)}
