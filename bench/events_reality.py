"""9. Time to reward with signed events, for real: the web server (gunicorn), the worker cluster
(``qcluster``, with its schedules: a poll every 2 minutes) and the simulator at 5 lookups a second,
each a process of its own. N invitations are made at once; their invitees open accounts on the
simulator spread over M minutes, and the simulator sends each opening as a signed event to the
web server over HTTP, as the account-opening system would (a delay of 2 s on average, 2% lost, 5%
sent twice, 5% first signed with a wrong secret and retried). Time to reward is from the opening
to the lookup that qualifies the invitation (``decided_at``). The invitations are young and
checked by polling as well, as in section 8: a lost event's invitation is found that way.

``python -m bench.run --only events`` (not in the default set: it runs for about 15 minutes)."""

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta

import requests
from django.utils import timezone

from devtools.processes import ROOT
from devtools.simulator_process import simulator_process

from . import fixtures
from .common import percentile, wait_for_server
from .scheduling_reality import _plan

RATE = 5
LOSS, DUPLICATES, BAD_SIGNATURES, DELAY = 0.02, 0.05, 0.05, 2.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _latency(web_url: str, rounds: int = 200) -> dict:
    """How long the endpoint takes to answer a signed event for a number nobody invited (the
    common case, one at a time), against ``/health/live`` on the same server in the same run
    (no database) as the baseline: medians and 95th percentiles in milliseconds."""
    from datetime import UTC, datetime

    from django.conf import settings
    from standardwebhooks.webhooks import Webhook

    webhook = Webhook(settings.ACCOUNT_OPENING_WEBHOOK_SECRETS[0])
    session = requests.Session()
    timings = {"event": [], "health": []}
    for n in range(rounds):
        body = json.dumps(
            {"type": "account.opened", "data": {"phone": f"1990000{n:04d}", "account_id": f"L{n}"}}
        )
        at = datetime.now(UTC)
        headers = {
            "webhook-id": f"msg_latency_{n}_{time.time_ns()}",
            "webhook-timestamp": str(int(at.timestamp())),
        }
        headers["webhook-signature"] = webhook.sign(headers["webhook-id"], at, body)
        began = time.perf_counter()
        session.post(f"{web_url}/hooks/account-opened", data=body, headers=headers, timeout=10)
        timings["event"].append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        session.get(f"{web_url}/health/live", timeout=10)
        timings["health"].append((time.perf_counter() - began) * 1000)
    return {
        name: {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95)}
        for name, values in timings.items()
    }


def run(quick: bool) -> dict:
    from invitations.models import Customer, Invitation, OpeningEvent

    count, spread = (60, timedelta(minutes=2)) if quick else (500, timedelta(minutes=10))
    kind = fixtures.card_kind("EV")
    campaign = fixtures.campaign(kind)
    fixtures.cards(kind, count)
    fixtures.customers(1, "778")
    inviter = Customer.objects.get(phone__startswith="1778")
    fixtures.invitations(campaign, count, status="pending", one_inviter=inviter, phone_prefix="67")
    t0 = timezone.now()
    Invitation.objects.filter(campaign=campaign).update(invited_at=t0, next_check_at=t0)
    invitations = list(Invitation.objects.filter(campaign=campaign).order_by("pk"))
    plan = _plan(count, spread)
    port = _free_port()
    web_url = f"http://127.0.0.1:{port}"
    with simulator_process(
        "--rate",
        str(RATE),
        "--events-url",
        f"{web_url}/hooks/account-opened",
        "--events-delay",
        str(DELAY),
        "--events-loss",
        str(LOSS),
        "--events-duplicates",
        str(DUPLICATES),
        "--events-bad-signatures",
        str(BAD_SIGNATURES),
    ) as sim_url:
        env = {
            **os.environ,
            "ACCOUNT_OPENING_URL": sim_url,
            "ACCOUNT_OPENING_RATE": str(RATE),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "3",
            "LOG_LEVEL": "WARNING",
        }
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "referral_site.wsgi",
                "--access-logfile",
                "/dev/null",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        cluster = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_server(f"{web_url}/health/live")
            latency = _latency(web_url)
            started = time.time()
            for invitation, (opening, _) in sorted(
                zip(invitations, plan, strict=True), key=lambda pair: pair[1][0]
            ):
                time.sleep(max(0.0, started + opening - time.time()))
                account = {
                    "phone": invitation.invitee_phone,
                    "account_id": f"EV{invitation.pk}",
                    "channel": "app",
                    "opened_at": timezone.now().isoformat(),
                }
                requests.post(
                    f"{sim_url}/_sim/accounts", data=json.dumps([account]), timeout=10
                ).raise_for_status()
            # a lost event's invitation is found by polling, as before
            deadline = time.time() + 20 * 60
            while time.time() < deadline:
                if not Invitation.objects.filter(campaign=campaign, status="pending").exists():
                    break
                time.sleep(5)
            sender = requests.get(f"{sim_url}/_sim/stats", timeout=10).json()
        finally:
            for process in (cluster, web):
                process.terminate()
            for process in (cluster, web):
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
    decided = Invitation.objects.filter(campaign=campaign, status="qualified").values_list(
        "account_opened_at", "decided_at"
    )
    waits = sorted((decided_at - opened).total_seconds() for opened, decided_at in decided)
    result = {
        "latency_ms": latency,
        "invitations": count,
        "spread_minutes": spread.total_seconds() / 60,
        "events": sender["events"],
        "lookups": sender["requests_served"],
        "max_lookups_in_one_second": sender["max_requests_in_one_second"],
        "rate_limited": sender["rate_limited"],
        "events_taken": OpeningEvent.objects.count(),
        "rewarded": len(waits),
        "p50_s": percentile(waits, 0.5) if waits else float("nan"),
        "p95_s": percentile(waits, 0.95) if waits else float("nan"),
        "max_s": waits[-1] if waits else float("nan"),
    }
    print(
        f"  events: {result['rewarded']} of {count} rewarded, p50 {result['p50_s']:.1f} s,"
        f" p95 {result['p95_s']:.1f} s, max {result['max_s']:.1f} s;"
        f" {result['events']['lost']} events lost, {result['lookups']} lookups",
        flush=True,
    )
    return result
