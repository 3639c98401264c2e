"""Section 15: the campaign funnel at a million invitations.

One campaign with ``invitations`` invitations (a tenth qualified and rewarded, spread over a
week), counted by the cluster's ``refresh_funnels`` (timed: it runs every
``FUNNEL_REFRESH_MINUTES``), then its page in the admin through Django's test client, in
process, against the trivial view measured in the same run (server time, medians)."""

import time

from django.contrib.auth import get_user_model
from django.test import Client

from funnel.services import refresh_funnels

from . import fixtures
from .common import execute, median
from .pages import timed_page


def run(quick: bool) -> dict:
    invitations, repeats = (50_000, 10) if quick else (1_000_000, 30)
    campaign = fixtures.rewarded_book(
        "FN",
        card_count=invitations // 10 + 100,
        customer_count=1000,
        invitation_count=invitations,
        grant_count=invitations // 10,
        customer_digits="777",
        invitee_digits="8",
    )
    # openings, deposits and grants spread over the week the invitations were made in
    execute(
        """UPDATE invitations_invitation SET account_opened_at = invited_at + interval '1 hour',
               funded_at = CASE WHEN id %% 2 = 0 THEN invited_at + interval '2 hours' END
           WHERE campaign_id = %s AND status = 'qualified'""",
        [campaign.pk],
    )
    execute("ANALYZE")
    refreshes = []
    for _ in range(3):
        started = time.perf_counter()
        refresh_funnels()
        refreshes.append(time.perf_counter() - started)
    staff = get_user_model().objects.create_superuser("bench-funnel", "f@example.com", "x")
    client = Client()
    client.force_login(staff)
    pages = {
        "trivial view (/health/live)": timed_page(client, "/health/live", repeats),
        "funnel page": timed_page(
            client, f"/admin/funnel/funnelsummary/campaign/{campaign.pk}/", repeats
        ),
        "funnel list": timed_page(client, "/admin/funnel/funnelsummary/", repeats),
    }
    for name, value in pages.items():
        print(f"  {name:28}: median {value['median_ms']:6.1f} ms, {value['queries']} queries")
    print(f"  refresh: median {median(refreshes):.2f} s", flush=True)
    return {
        "invitations": invitations,
        "grants": invitations // 10,
        "repeats": repeats,
        "refresh_s": median(refreshes),
        "refresh_runs": refreshes,
        "pages": pages,
    }
