"""13. A campaign's budget: what the budget check reads under its lock on every grant of a
budgeted campaign (``rewards.spending.spent``: the campaign's live grants summed), at 10,000
and 100,000 grants, against the cap's count for one inviter (the read every grant makes
anyway, an index probe), measured in the same run."""

import statistics
import time

from django.db import connection
from django.utils import timezone

from invitations.models import Campaign
from rewards.spending import spent

from . import fixtures

CAP_COUNT = (
    "SELECT count(*) FROM rewards_grant WHERE inviter_id = %s AND campaign_id = %s"
    " AND status <> 'void'"
)


def _median_ms(call, repeats: int = 15) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _measure(campaign_id: int, inviter_id: int) -> tuple[float, float]:
    today = timezone.now().replace(hour=0, minute=0)

    def cap_count():
        with connection.cursor() as cursor:
            cursor.execute(CAP_COUNT, [inviter_id, campaign_id])

    point_values = dict(Campaign.objects.filter(pk=campaign_id).values_list("pk", "point_value"))
    return _median_ms(lambda: spent(point_values, today)), _median_ms(cap_count)


def run(quick: bool) -> dict:
    results = {}
    for index, rows in enumerate((2_000,) if quick else (10_000, 100_000)):
        kind = fixtures.card_kind(f"BU{index}")
        campaign = fixtures.campaign(kind)
        fixtures.cards(kind, rows)
        fixtures.customers(rows, f"88{index}")
        fixtures.invitations(
            campaign, rows, status="qualified", inviter_prefix=f"88{index}", phone_prefix="88"
        )
        fixtures.issued_grants(kind, campaign, rows, f"BU{index}")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE rewards_grant")
            cursor.execute(
                "SELECT min(inviter_id) FROM rewards_grant WHERE campaign_id = %s", [campaign.pk]
            )
            inviter = cursor.fetchone()[0]

        spend_ms, count_ms = _measure(campaign.pk, inviter)
        results[str(rows)] = {"spent_ms": spend_ms, "cap_count_ms": count_ms}
        print(
            f"  {rows:,} grants: spend {spend_ms:.1f} ms, the cap's count {count_ms:.2f} ms"
            f" ({spend_ms / count_ms:.0f}x)",
            flush=True,
        )
    return results
