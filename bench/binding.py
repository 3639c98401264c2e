"""1b. Server-side binding and prepared statements on the grant path: ``grant_reward`` over the
same kind of invitations with client-side binding (Django's default) and with server-side
binding plus psycopg's prepared statements (this project's default), in alternating runs of
fresh processes; the figure is the median of the paired ratios."""

import time

from invitations.models import Invitation

from . import fixtures
from .common import median, run_parallel


def worker(invitation_ids: list[int]) -> dict:
    from django.db import connection

    from rewards.services import grant_reward

    connection.ensure_connection()
    started = time.perf_counter()
    for invitation_id in invitation_ids:
        grant_reward(Invitation(pk=invitation_id))
    seconds = time.perf_counter() - started
    return {"ms_per_grant": seconds * 1000 / len(invitation_ids)}


def run(quick: bool) -> dict:
    per_run, rounds = (300, 3) if quick else (2000, 5)
    kind = fixtures.card_kind("SB")
    campaign = fixtures.campaign(kind)
    fixtures.cards(kind, per_run * rounds * 2)
    fixtures.customers(per_run * rounds * 2, "655")
    fixtures.invitations(
        campaign, per_run * rounds * 2, status="qualified", inviter_prefix="655", phone_prefix="65"
    )
    ids = list(
        Invitation.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True)
    )
    variants = {
        "client-side binding": {"DB_SERVER_SIDE_BINDING": "false", "DB_PREPARE_THRESHOLD": "0"},
        "server-side binding, prepared": {
            "DB_SERVER_SIDE_BINDING": "true",
            "DB_PREPARE_THRESHOLD": "5",
        },
    }
    times = {name: [] for name in variants}
    for round_number in range(rounds):
        order = list(variants) if round_number % 2 == 0 else list(reversed(variants))
        for name in order:
            chunk, ids = ids[:per_run], ids[per_run:]
            result = run_parallel("bench.binding.worker", [(chunk,)], env=variants[name])[0]
            times[name].append(result["ms_per_grant"])
    ratios = [
        client / server
        for client, server in zip(
            times["client-side binding"], times["server-side binding, prepared"], strict=True
        )
    ]
    result = {
        "grants_per_run": per_run,
        "rounds": rounds,
        "ms_per_grant": {name: median(values) for name, values in times.items()},
        "speedup": median(ratios),
    }
    print(
        f"  binding: client {result['ms_per_grant']['client-side binding']:.2f} ms/grant, server"
        f" {result['ms_per_grant']['server-side binding, prepared']:.2f} ms/grant,"
        f" speed-up {result['speedup']:.2f}x (median of {rounds} paired runs)",
        flush=True,
    )
    return result
