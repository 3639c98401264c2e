"""5. Pages with a large database: server time (Django's test client, in process) and queries,
each page against the trivial view measured in the same run."""

import time

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cardpool.services.stock_counts import count_cards
from invitations.models import Customer

from . import fixtures
from .common import median, percentile

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
    """1,000 customers sharing the invitations; the one returned has 1,000 of them (at full
    size), 100 rewarded."""
    fixtures.rewarded_book(
        "PG",
        card_count=cards,
        customer_count=1000,
        invitation_count=invitations,
        grant_count=grants,
        customer_digits="555",
        invitee_digits="6",
    )
    count_cards()  # as the worker cluster does every minute: the staff's pages read the count
    return Customer.objects.get(phone="15550000001")


def timed_page(client: Client, url: str, repeats: int) -> dict:
    """Server time of ``url`` through Django's test client, in process, after one request to
    warm it: median and p95 in ms, and its statements."""
    client.get(url)
    timings, queries = [], 0
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured.captured_queries)
    return {
        "median_ms": median(timings) * 1000,
        "p95_ms": percentile(timings, 0.95) * 1000,
        "queries": queries,
    }


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
        results[name] = timed_page(client, url, repeats)
        queries = results[name]["queries"]
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
