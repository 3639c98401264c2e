"""3. Upstream budget: a backlog of invitations, the simulator limited to 5 requests/s, 1 and 3
polling processes: the request rate achieved as a share of the limit, and 429s received."""

import json
import time

import requests

from devtools.simulator_process import simulator_process
from invitations.models import Customer, Invitation

from . import fixtures
from .common import execute, run_parallel

RATE = 5


def poll_worker(max_seconds: float) -> dict:
    from invitations.services import poll_invitations

    cycle = poll_invitations(
        batch_size=50, lease_seconds=int(max_seconds) + 60, max_seconds=max_seconds
    )
    return {"claimed": cycle.claimed, "errors": cycle.errors}


def run(quick: bool) -> dict:
    backlog = 40 if quick else 1000
    kind = fixtures.card_kind("UP")
    campaign = fixtures.campaign(kind)
    fixtures.cards(kind, 2 * backlog)
    fixtures.customers(1, "888")
    inviter = Customer.objects.get(phone__startswith="1888")
    results = {}
    for processes in (1, 3):
        execute(
            "DELETE FROM invitations_invitation WHERE campaign_id = %s AND status = 'pending'",
            [campaign.pk],
        )
        execute("DELETE FROM core_ratelimit")
        fixtures.invitations(
            campaign, backlog, status="pending", one_inviter=inviter, phone_prefix=f"4{processes}"
        )
        with simulator_process("--rate", str(RATE)) as url:
            # half of the invitees opened an account, half not: both cost a request
            phones = list(
                Invitation.objects.filter(campaign=campaign, status="pending").values_list(
                    "invitee_phone", flat=True
                )
            )
            accounts = [
                {"phone": phone, "account_id": f"U{phone}", "channel": "app"}
                for phone in phones[::2]
            ]
            requests.post(
                f"{url}/_sim/accounts", data=json.dumps(accounts), timeout=30
            ).raise_for_status()
            requests.post(f"{url}/_sim/reset", timeout=10)
            env = {"ACCOUNT_OPENING_URL": url, "ACCOUNT_OPENING_RATE": str(RATE)}
            started = time.monotonic()
            run_parallel(
                "bench.upstream.poll_worker", [(backlog / RATE * 1.5 + 30,)] * processes, env=env
            )
            elapsed = time.monotonic() - started
            stats = requests.get(f"{url}/_sim/stats", timeout=10).json()
        achieved = stats["requests_served"] / elapsed
        results[processes] = {
            "requests": stats["requests_served"],
            "seconds": elapsed,
            "rate": achieved,
            "share_of_limit": achieved / RATE,
            "rate_limited": stats["rate_limited"],
            "max_in_one_second": stats["max_requests_in_one_second"],
        }
        print(
            f"  upstream x{processes}: {achieved:.2f} req/s ({achieved / RATE:.0%} of {RATE}), 429s {stats['rate_limited']}",
            flush=True,
        )
    return {"backlog": backlog, "limit": RATE, "results": results}
