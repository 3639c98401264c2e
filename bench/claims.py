"""2. Poll claim cost versus table size: 1,000 due invitations among 10k, 100k and 1M."""

import time

from django.db import connection, transaction

from invitations.models import Customer
from invitations.services.polling import claim_due_invitations

from . import fixtures
from .common import execute, median

SIZES_FULL = (10_000, 100_000, 1_000_000)
SIZES_QUICK = (10_000, 100_000)
DUE = 1000
PLAN_SQL = (
    "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM invitations_invitation "
    "WHERE status = 'pending' AND next_check_at <= now() ORDER BY next_check_at, id LIMIT 50 "
    "FOR UPDATE SKIP LOCKED"
)


class _Rollback(Exception):
    pass


def _claim_seconds() -> float:
    started = time.perf_counter()
    try:
        with transaction.atomic():
            claim_due_invitations(50, 90)
            raise _Rollback  # measure the claim, keep the table as it is
    except _Rollback:
        pass
    return time.perf_counter() - started


def run(quick: bool) -> dict:
    kind = fixtures.card_kind("CL")
    campaign = fixtures.campaign(kind)
    fixtures.customers(1, "777")
    inviter = Customer.objects.get(phone__startswith="1777")
    results, filled, plan = {}, 0, ""
    for size in SIZES_QUICK if quick else SIZES_FULL:
        if filled == 0:
            fixtures.invitations(
                campaign, DUE, status="pending", one_inviter=inviter, phone_prefix="30"
            )
            filled = DUE
        # decided and not-yet-due rows make up the rest: 90% decided, 10% pending later
        extra = size - filled
        later = extra // 10
        execute("SET synchronous_commit = off")
        fixtures.invitations(
            campaign,
            later,
            status="pending",
            one_inviter=inviter,
            phone_prefix=f"{31 + len(results) * 2}",
            due=False,
        )
        fixtures.invitations(
            campaign,
            extra - later,
            status="expired",
            one_inviter=inviter,
            phone_prefix=f"{32 + len(results) * 2}",
        )
        filled = size
        execute("ANALYZE invitations_invitation")
        _claim_seconds()  # warm the cache
        timings = [_claim_seconds() for _ in range(30)]
        results[size] = {"median_ms": median(timings) * 1000, "p95_ms": sorted(timings)[28] * 1000}
        with connection.cursor() as cursor:
            cursor.execute(PLAN_SQL)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(
            f"  claim 50 of {DUE} due among {size:>9,}: median {results[size]['median_ms']:.2f} ms",
            flush=True,
        )
    base = results[min(results)]["median_ms"]
    for value in results.values():
        value["ratio"] = value["median_ms"] / base
    return {"sizes": results, "plan_largest": plan}
