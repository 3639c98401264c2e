"""1. Grant throughput under contention: the service against the raw allocation SQL, and against
plain FOR UPDATE (no SKIP LOCKED), with 1, 2, 4 and 8 processes. Duplicates are counted after
every run."""

import time

import psycopg
from django.db import connection

from invitations.models import Invitation

from . import fixtures
from .common import barrier, median, run_parallel, scalar, wait_until
from .database import libpq

SKIP_LOCKED_SQL = """
UPDATE cardpool_card SET status = 'assigned', assigned_at = now()
WHERE id = (SELECT id FROM cardpool_card WHERE kind_id = %s AND status = 'available'
            ORDER BY valid_until, id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id
"""
# Without SKIP LOCKED every worker queues on the same first row; when it gets the lock the row
# is no longer available, the subquery yields nothing and the statement must be tried again.
FOR_UPDATE_SQL = """
UPDATE cardpool_card SET status = 'assigned', assigned_at = now()
WHERE id = (SELECT id FROM cardpool_card WHERE kind_id = %s AND status = 'available'
            ORDER BY valid_until, id LIMIT 1 FOR UPDATE)
RETURNING id
"""


def raw_worker(url: str, kind_id: int, count: int, skip_locked: bool, start_at: float) -> dict:
    sql = SKIP_LOCKED_SQL if skip_locked else FOR_UPDATE_SQL
    with psycopg.connect(libpq(url), autocommit=True) as db:
        wait_until(start_at)
        started, done, retries = time.time(), 0, 0
        while done < count:
            if db.execute(sql, [kind_id]).fetchone() is None:
                retries += 1
                continue
            done += 1
        return {"start": started, "end": time.time(), "done": done, "retries": retries}


def service_worker(invitation_ids: list[int], start_at: float) -> dict:
    from rewards.services import grant_reward

    wait_until(start_at)
    started = time.time()
    for invitation_id in invitation_ids:
        grant_reward(Invitation(pk=invitation_id))
    return {"start": started, "end": time.time(), "done": len(invitation_ids), "retries": 0}


def _throughput(results: list[dict]) -> float:
    total = sum(result["done"] for result in results)
    return total / (max(r["end"] for r in results) - min(r["start"] for r in results))


def _one_run(variant: str, processes: int, grants: int, url: str) -> tuple[float, int]:
    kind = fixtures.card_kind()
    fixtures.cards(kind, grants + 100)
    per_worker = grants // processes
    start_at = barrier(2.5)
    if variant == "service":
        campaign = fixtures.campaign(kind)
        prefix = f"{kind.pk % 900 + 100}"
        fixtures.customers(grants, prefix)
        fixtures.invitations(
            campaign,
            grants,
            status="qualified",
            inviter_prefix=prefix,
            phone_prefix=f"{kind.pk % 90 + 10}",
        )
        ids = list(
            Invitation.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True)
        )
        slices = [ids[index::processes][:per_worker] for index in range(processes)]
        results = run_parallel("bench.grants.service_worker", [(ids_, start_at) for ids_ in slices])
    else:
        results = run_parallel(
            "bench.grants.raw_worker",
            [(url, kind.pk, per_worker, variant == "raw_skip_locked", start_at)] * processes,
        )
    assigned = scalar(
        "SELECT count(*) FROM cardpool_card WHERE kind_id = %s AND status = 'assigned'", [kind.pk]
    )
    duplicates = 0
    if variant == "service":
        duplicates = scalar(
            "SELECT count(*) - count(DISTINCT card_id) FROM rewards_grant g JOIN invitations_campaign c "
            "ON c.id = g.campaign_id WHERE c.card_kind_id = %s",
            [kind.pk],
        )
    expected = per_worker * processes
    if assigned != expected:
        duplicates += abs(assigned - expected)
    return _throughput(results), duplicates


def run(quick: bool, url: str) -> dict:
    grants = 300 if quick else 2000
    repeats = 1 if quick else 3
    table = {}
    for variant in ("service", "raw_skip_locked", "raw_for_update"):
        for processes in (1, 2, 4, 8):
            rates, duplicates = [], 0
            for _ in range(repeats):
                rate, dup = _one_run(variant, processes, grants, url)
                rates.append(rate)
                duplicates += dup
            table[(variant, processes)] = {
                "rate": median(rates),
                "duplicates": duplicates,
                "runs": rates,
            }
            print(
                f"  grants {variant:16} x{processes}: {median(rates):8.0f}/s  duplicates {duplicates}",
                flush=True,
            )
    connection.close()
    return {
        "grants_per_run": grants,
        "repeats": repeats,
        "table": {f"{k[0]}:{k[1]}": v for k, v in table.items()},
    }
