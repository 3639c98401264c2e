"""5. Pages with a large database: server time (Django's test client, in process) and queries."""

import time

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from invitations.models import Customer

from . import fixtures
from .common import execute, median, percentile

PAGES = {
    "admin card list": "/admin/cardpool/card/",
    # staff post a card number to the list's private search and land on ?found=<token>
    "admin card list, exact search": ("/admin/cardpool/card/search/", "BENCH-0000000001"),
    "admin card kinds (stock)": "/admin/cardpool/cardkind/",
    "admin grant list": "/admin/rewards/grant/",
    "admin invitation list": "/admin/invitations/invitation/",
    "admin index (review desk)": "/admin/",
    "admin anomaly queue": "/admin/rewards/anomaly/",
    # one customer with 1,000 invitations, ~100 grants and their points (target: 100 ms each)
    "customer: my invitations": "/me/",
    "customer: my rewards": "/me/rewards/",
    "customer: my points": "/me/points/",
}


def _populate(cards: int, grants: int) -> Customer:
    kind = fixtures.card_kind("PG")
    campaign = fixtures.campaign(kind)
    execute("SET synchronous_commit = off")
    fixtures.cards(kind, cards)
    fixtures.customers(1000, "555")
    execute("ANALYZE")  # fresh millions of rows: without statistics the planner picks nested loops
    execute(
        """
        INSERT INTO invitations_invitation (campaign_id, inviter_id, invitee_phone, channel, status, rejection_reason,
            invited_at, qualify_by, external_account_id, account_opened_at, account_channel, next_check_at, attempts, last_error)
        SELECT %s, c.id, '160' || lpad(g::text, 8, '0'), 'link', 'qualified', '', now() - interval '1 day',
               now() + interval '29 days', 'PGACC' || g, now(), 'app', now(), 1, ''
        FROM generate_series(1, %s) g
        JOIN invitations_customer c ON c.phone = '1555' || lpad((1 + g %% 1000)::text, 7, '0')
        """,
        [campaign.pk, grants],
    )
    execute("ANALYZE")
    fixtures.issued_grants(kind, campaign, grants, "RB")
    customer = Customer.objects.get(phone="15550000001")
    execute(
        """
        INSERT INTO invitations_invitation (campaign_id, inviter_id, invitee_phone, channel, status, rejection_reason,
            invited_at, qualify_by, next_check_at, attempts, last_error, account_channel)
        SELECT %s, %s, '161' || lpad(g::text, 8, '0'), 'link', 'pending', '', now() - g * interval '1 minute',
               now() + interval '29 days', now() + interval '1 hour', 1, '', ''
        FROM generate_series(1, 1000 - (SELECT count(*) FROM invitations_invitation WHERE inviter_id = %s)) g
        """,
        [campaign.pk, customer.pk, customer.pk],
    )
    execute(
        """
        INSERT INTO rewards_pointsentry (customer_id, amount, kind, grant_id, note, created_at)
        SELECT inviter_id, points, 'reward', id, '', created_at FROM rewards_grant WHERE inviter_id = %s
        """,
        [customer.pk],
    )
    execute("VACUUM ANALYZE")  # what autovacuum does soon after a bulk load in production
    return customer


def run(quick: bool) -> dict:
    cards, grants, repeats = (50_000, 5_000, 5) if quick else (1_000_000, 100_000, 20)
    customer = _populate(cards, grants)
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
    return {"cards": cards, "grants": grants, "repeats": repeats, "pages": results}
