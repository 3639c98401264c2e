"""8. The simulation of section 7 against reality, once, at small scale: the real poller (a cycle
every 2 minutes, as the schedule fires it), the real simulator at 5 lookups a second over HTTP,
N invitations made at once whose invitees open accounts spread over M minutes (a third after
following the "open your account" link a few minutes earlier). The same scenario then goes
through ``bench.scheduling``'s simulation; the two distributions of time to reward are compared.
"""

import json
import random
import time
from datetime import timedelta

import requests
from django.utils import timezone

from devtools.simulator_process import simulator_process

from . import fixtures, scheduling
from .common import percentile, start

RATE = 5
CYCLE_SECONDS = 120


def poll_loop(until: float) -> None:
    """What the schedule does: a poll cycle every two minutes, until ``until`` (epoch)."""
    from invitations.services import poll_invitations

    while time.time() < until:
        started = time.time()
        poll_invitations()
        time.sleep(max(0.0, CYCLE_SECONDS - (time.time() - started)))


def _plan(count: int, spread: timedelta, seed: int = 11) -> list[tuple[float, float | None]]:
    """(seconds to the opening, seconds to the link click or None) per invitee."""
    rng = random.Random(seed)
    plan = []
    for _ in range(count):
        opening = rng.uniform(0, spread.total_seconds())
        click = None
        if rng.random() < 1 / 3:
            click = max(0.0, opening - rng.uniform(60, 300))
        plan.append((opening, click))
    return plan


def run(quick: bool) -> dict:
    from invitations.models import Customer, Invitation
    from invitations.services import invitee_opening_account

    count, spread = (60, timedelta(minutes=3)) if quick else (500, timedelta(minutes=10))
    kind = fixtures.card_kind("RL")
    campaign = fixtures.campaign(kind)
    fixtures.cards(kind, count)
    fixtures.customers(1, "777")
    inviter = Customer.objects.get(phone__startswith="1777")
    fixtures.invitations(campaign, count, status="pending", one_inviter=inviter, phone_prefix="66")
    t0 = timezone.now()
    Invitation.objects.filter(campaign=campaign).update(invited_at=t0, next_check_at=t0)
    invitations = list(Invitation.objects.filter(campaign=campaign).order_by("pk"))
    plan = _plan(count, spread)
    events = sorted(
        [(opening, "open", inv) for inv, (opening, _) in zip(invitations, plan, strict=True)]
        + [
            (click, "click", inv)
            for inv, (_, click) in zip(invitations, plan, strict=True)
            if click is not None
        ],
        key=lambda event: event[0],
    )
    deadline = time.time() + spread.total_seconds() + 45 * 60
    with simulator_process("--rate", str(RATE)) as url:
        env = {"ACCOUNT_OPENING_URL": url, "ACCOUNT_OPENING_RATE": str(RATE)}
        poller = start("bench.scheduling_reality.poll_loop", deadline, env=env)
        try:
            started = time.time()
            for offset, what, invitation in events:
                time.sleep(max(0.0, started + offset - time.time()))
                if what == "click":
                    invitee_opening_account(invitation)
                else:
                    account = {
                        "phone": invitation.invitee_phone,
                        "account_id": f"RL{invitation.pk}",
                        "channel": "app",
                        "opened_at": timezone.now().isoformat(),
                    }
                    requests.post(
                        f"{url}/_sim/accounts", data=json.dumps([account]), timeout=10
                    ).raise_for_status()
            while time.time() < deadline:
                pending = Invitation.objects.filter(campaign=campaign, status="pending").count()
                if not pending:
                    break
                time.sleep(10)
        finally:
            poller.terminate()
            poller.wait(timeout=60)
    decided = Invitation.objects.filter(campaign=campaign, status="qualified").values_list(
        "account_opened_at", "decided_at"
    )
    measured = sorted((decided_at - opened).total_seconds() for opened, decided_at in decided)
    people = [
        scheduling.Invitee(
            number,
            scheduling.START,
            scheduling.START + scheduling.WINDOW,
            scheduling.START + timedelta(seconds=opening),
            scheduling.START + timedelta(seconds=click) if click is not None else None,
        )
        for number, (opening, click) in enumerate(plan)
    ]
    simulated = scheduling.project(people)
    result = {"invitations": count, "spread_minutes": spread.total_seconds() / 60}
    for name, waits in (("measured", measured), ("simulated", sorted(simulated.waits))):
        summary = {
            "rewarded": len(waits),
            "p50_min": percentile(waits, 0.5) / 60 if waits else float("nan"),
            "p95_min": percentile(waits, 0.95) / 60 if waits else float("nan"),
            "max_min": waits[-1] / 60 if waits else float("nan"),
        }
        result[name] = summary
        print(
            f"  {name:>9}: {summary['rewarded']} rewarded, p50 {summary['p50_min']:.1f} min,"
            f" p95 {summary['p95_min']:.1f} min, max {summary['max_min']:.1f} min",
            flush=True,
        )
    return result
