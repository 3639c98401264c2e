"""5. Pages with a large database: server time (Django's test client, in process) and queries,
each page against the trivial view measured in the same run."""

import time

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from invitations.models import Customer

from . import fixtures
from .common import execute, median, percentile

PAGES = {
    # the baseline: a view that answers "ok" through the same middleware, touching no table
    "trivial view (/health/live)": "/health/live",
    "admin card list": "/admin/cardpool/card/",
    "admin card list, available only": "/admin/cardpool/card/?status__exact=available",
    # staff post a card number to the list's private search and land on ?found=<token>
    "admin card list, exact search": ("/admin/cardpool/card/search/", "BENCH-0000000001"),
    "admin card kinds (stock)": "/admin/cardpool/cardkind/",
    "admin grant list": "/admin/rewards/grant/",
    "admin invitation list": "/admin/invitations/invitation/",
    "admin invitation list, pending only": "/admin/invitations/invitation/?status__exact=pending",
    "admin points ledger": "/admin/rewards/pointsentry/",
    "admin outbox (messages)": "/admin/notifications/message/",
    "admin index (review desk)": "/admin/",
    "admin anomaly queue": "/admin/rewards/anomaly/",
    # one customer with 1,000 invitations, 100 grants and their points (target: 100 ms each)
    "customer: my invitations": "/me/",
    "customer: my rewards": "/me/rewards/",
    "customer: my points": "/me/points/",
}


def _populate(cards: int, invitations: int, grants: int) -> Customer:
    """``cards`` cards; 1,000 customers with ``invitations`` / 1,000 invitations each, the
    first ``grants`` qualified and rewarded (grants and points entries), the rest pending."""
    kind = fixtures.card_kind("PG")
    campaign = fixtures.campaign(kind)
    execute("SET synchronous_commit = off")
    fixtures.cards(kind, cards)
    fixtures.customers(1000, "555")
    execute("ANALYZE")  # fresh millions of rows: without statistics the planner picks nested loops
    execute(
        """
        INSERT INTO invitations_invitation (campaign_id, inviter_id, invitee_phone, channel, status, rejection_reason,
            invited_at, qualify_by, external_account_id, account_opened_at, account_channel, next_check_at,
            attempts, last_error)
        SELECT %s, c.id, '16' || lpad(g::text, 9, '0'),
               'link', CASE WHEN g <= %s THEN 'qualified' ELSE 'pending' END, '',
               now() - (g %% 10000) * interval '1 minute', now() + interval '29 days',
               CASE WHEN g <= %s THEN 'PGACC' || g END, CASE WHEN g <= %s THEN now() END, '',
               now() + interval '1 hour', 1, ''
        FROM generate_series(1, %s) g
        JOIN invitations_customer c ON c.phone = '1555' || lpad((1 + g %% 1000)::text, 7, '0')
        """,
        [campaign.pk, grants, grants, grants, invitations],
    )
    execute("ANALYZE")
    fixtures.issued_grants(kind, campaign, grants, "RG5")  # the pages link RG + digits
    execute(
        """
        INSERT INTO rewards_pointsentry (customer_id, amount, kind, grant_id, note, created_at)
        SELECT inviter_id, points, 'reward', id, '', created_at FROM rewards_grant WHERE campaign_id = %s
        """,
        [campaign.pk],
    )
    execute("VACUUM ANALYZE")  # what autovacuum does soon after a bulk load in production
    return Customer.objects.get(phone="15550000001")


def run(quick: bool) -> dict:
    cards, invitations, grants, repeats = (
        (50_000, 50_000, 5_000, 5) if quick else (1_000_000, 1_000_000, 100_000, 20)
    )
    customer = _populate(cards, invitations, grants)
    staff = get_user_model().objects.create_superuser("bench-admin", "b@example.com", "x")
    results = {}
    for name, url in PAGES.items():
        client = Client()
        client.force_login(customer.user if str(url).startswith("/me") else staff)
        if isinstance(url, tuple):
            search, term = url
            url = client.post(search, {"term": term}).url
        client.get(url)  # warm
        timings, queries = [], 0
        for _ in range(repeats):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                timings.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
            queries = len(captured.captured_queries)
        results[name] = {
            "median_ms": median(timings) * 1000,
            "p95_ms": percentile(timings, 0.95) * 1000,
            "queries": queries,
        }
        print(
            f"  page {name:32}: median {results[name]['median_ms']:7.1f} ms, p95 {results[name]['p95_ms']:7.1f} ms, {queries} queries",
            flush=True,
        )
    return {
        "cards": cards,
        "invitations": invitations,
        "grants": grants,
        "repeats": repeats,
        "pages": results,
    }
