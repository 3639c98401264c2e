"""11. Erasing the numbers of invitees who never opened an account (PIPL): the scheduled task
(``invitations.services.retention.erase_unopened_phones``: batches of 5,000, a keyed digest
computed in Python per number) on ``count`` expired, never-opened invitations, against the
single raw UPDATE that writes the same rows with a digest PostgreSQL computes (``md5``, unkeyed:
the floor of the row writes, not a replacement), in the same run, each on fresh rows. Peak
Python memory of the task (tracemalloc) says it stays bounded by its batch."""

import time
import tracemalloc

from django.conf import settings

from invitations.models import Invitation

from . import fixtures
from .common import execute, scalar

RAW = """
UPDATE invitations_invitation
SET invitee_phone = 'x' || md5(invitee_phone) || '00000000', phone_erased_at = now()
WHERE status = 'expired' AND external_account_id IS NULL AND phone_erased_at IS NULL
  AND qualify_by < now() - make_interval(days => %s) AND campaign_id = %s
"""


def _expired(count: int, prefix: str) -> int:
    kind = fixtures.card_kind("RT")
    campaign = fixtures.campaign(kind)
    fixtures.customers(count, prefix)
    fixtures.invitations(campaign, count, status="expired", inviter_prefix=prefix)
    execute(
        "UPDATE invitations_invitation SET qualify_by = now() - interval '90 days' "
        "WHERE campaign_id = %s",
        [campaign.pk],
    )
    return campaign.pk


def run(quick: bool) -> dict:
    from invitations.services.retention import erase_unopened_phones

    count = 10_000 if quick else 100_000
    days = settings.INVITEE_PHONE_RETENTION_DAYS
    raw_campaign = _expired(count, "650")
    started = time.perf_counter()
    execute(RAW, [days, raw_campaign])
    raw_seconds = time.perf_counter() - started

    task_campaign = _expired(count, "651")
    tracemalloc.start()
    started = time.perf_counter()
    erased = erase_unopened_phones(batch=5000, max_seconds=3600)
    task_seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    left = scalar(
        "SELECT count(*) FROM invitations_invitation WHERE campaign_id = %s "
        "AND phone_erased_at IS NULL",
        [task_campaign],
    )
    result = {
        "count": count,
        "erased": erased,
        "left": left,
        "task_seconds": task_seconds,
        "raw_seconds": raw_seconds,
        "ratio": task_seconds / raw_seconds,
        "peak_mib": peak / 2**20,
        "rows_per_second": erased / task_seconds,
        "invitations_total": Invitation.objects.count(),
    }
    print(
        f"  erased {erased:,} of {count:,} in {task_seconds:.1f} s ({result['rows_per_second']:,.0f}"
        f"/s), the raw UPDATE {raw_seconds:.1f} s ({result['ratio']:.1f}x); peak Python memory"
        f" {result['peak_mib']:.1f} MiB; {left} left",
        flush=True,
    )
    return result
