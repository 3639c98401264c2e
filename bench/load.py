"""5b. Pages under real load: locust against gunicorn with the production settings.

The data: 1,000,000 cards, 1,000 customers with 1,000 invitations each (1,000,000 in all),
100,000 of them rewarded (grants and points entries). gunicorn runs ``referral_site.wsgi`` with
``gunicorn.conf.py`` (its default number of workers) and the production settings; locust's
users each hold a logged-in session (made by the production settings, in a child process) and
ask for pages as fast as they are answered, as browsers behind our TLS proxy would. Each round
measures, at the same concurrency and one after the other on the same gunicorn, the baseline (a
view that answers "ok" without touching the database: ``/health/live``, through the same
middleware), the customer pages and the admin lists, while a process counts the pool each
minute as the worker cluster does; three rounds, interleaved with the order
turning, and each figure is the median of the rounds (the machine is shared and noisy).
"""

import csv
import json
import os
import runpy
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model

from invitations.models import Customer

from . import fixtures
from .common import run_parallel, start, wait_for_server

ROOT = Path(__file__).resolve().parent.parent
PORT = 8011
GROUPS = ["hello", "customer", "admin"]
ROUNDS = 3
FIGURES = ("rps", "p50_ms", "p95_ms", "p99_ms")


def _medians(runs: list[dict]) -> dict:
    """Each figure's median over the rounds (failures summed), and the rounds' p95s."""

    def median_of(values: list[dict]) -> dict:
        figures = {name: statistics.median(value[name] for value in values) for name in FIGURES}
        return {**figures, "failures": sum(value["failures"] for value in values)}

    pages = {name for run in runs for name in run["pages"]}
    return {
        "all": {
            **median_of([run["all"] for run in runs]),
            "p95_runs": [run["all"]["p95_ms"] for run in runs],
        },
        "pages": {
            name: median_of([run["pages"][name] for run in runs if name in run["pages"]])
            for name in sorted(pages)
        },
    }


def _populate(cards: int, customers: int, per_customer: int, grants: int) -> list[int]:
    fixtures.rewarded_book(
        "LD",
        card_count=cards,
        customer_count=customers,
        invitation_count=customers * per_customer,
        grant_count=grants,
        customer_digits="566",
        invitee_digits="7",
    )
    return list(
        Customer.objects.filter(phone__startswith="1566")
        .order_by("pk")
        .values_list("user_id", flat=True)[:50]
    )


def count_cards_every_minute() -> None:
    """What the worker cluster does during the load: count the pool for the staff's pages."""
    from cardpool.services.stock_counts import count_cards

    while True:
        count_cards()
        time.sleep(60)


def make_sessions(user_ids: list[int], admin_id: int) -> dict:
    """Run with the production settings: a logged-in session per user, as a login makes."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    def session_for(user, **verified) -> str:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.update(verified)
        store.create()
        return store.session_key

    users = get_user_model().objects.in_bulk([*user_ids, admin_id])
    # the production settings let a superuser into the admin only after a second factor: the
    # session of one who signed in with an authenticator's code (else every page is a redirect)
    device = TOTPDevice.objects.create(user=users[admin_id], name="bench", confirmed=True)
    return {
        "customers": [session_for(users[user_id]) for user_id in user_ids],
        "admin": session_for(users[admin_id], **{DEVICE_ID_SESSION_KEY: device.persistent_id}),
    }


def _production_env(url: str) -> dict:
    return {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "referral_site.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CARD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "CARD_NUMBER_DIGEST_KEY": secrets.token_urlsafe(32),
        "SMS_GATEWAY_URL": "https://sms.invalid/send",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_BIND": f"127.0.0.1:{PORT}",
    }


def _locust(group: str, users: int, seconds: int, sessions: dict, folder: str) -> dict:
    prefix = str(Path(folder) / f"{group}-{users}")
    env = {**os.environ, "LOAD_GROUP": group, "LOAD_SESSIONS": json.dumps(sessions)}
    subprocess.run(
        [
            *[sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py")],
            *["--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s"],
            *["--host", f"http://127.0.0.1:{PORT}", "--csv", prefix, "--only-summary"],
            "--loglevel=WARNING",
        ],
        env=env,
        check=False,
        capture_output=True,
        timeout=seconds + 120,
    )
    with open(f"{prefix}_stats.csv", newline="") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}

    def figures(row: dict) -> dict:
        return {
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]),
            "p50_ms": float(row["50%"]),
            "p95_ms": float(row["95%"]),
            "p99_ms": float(row["99%"]),
        }

    return {
        "all": figures(rows["Aggregated"]),
        "pages": {name: figures(row) for name, row in rows.items() if name != "Aggregated"},
    }


def run(quick: bool, url: str) -> dict:
    if quick:
        cards, customers, per_customer, grants, seconds = 50_000, 100, 500, 5_000, 10
    else:
        cards, customers, per_customer, grants, seconds = 1_000_000, 1_000, 1_000, 100_000, 20
    user_ids = _populate(cards, customers, per_customer, grants)
    admin = get_user_model().objects.create_superuser("load-admin", "l@example.com", None)
    env = _production_env(url)
    [sessions] = run_parallel("bench.load.make_sessions", [(user_ids, admin.pk)], env=env)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "referral_site.wsgi", "--access-logfile", "/dev/null"],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    counter = start("bench.load.count_cards_every_minute")  # the cluster's part, on the same cores
    results = {
        "cards": cards,
        "invitations": customers * per_customer,
        "customers": customers,
        "grants": grants,
        "seconds": seconds,
        "repeats": ROUNDS,
        "workers": None,
        "rounds": {},
    }
    try:
        wait_for_server(f"http://127.0.0.1:{PORT}/health/live")
        with tempfile.TemporaryDirectory() as folder:
            for users in (20, 50):
                runs = {group: [] for group in GROUPS}
                for round_number in range(ROUNDS):
                    # the machine is shared and noisy: rounds interleaved, the order turning
                    turn = round_number % len(GROUPS)
                    for group in GROUPS[turn:] + GROUPS[:turn]:
                        run = _locust(group, users, seconds, sessions, folder)
                        runs[group].append(run)
                        value = run["all"]
                        print(
                            f"  load {group:8} x{users} round {round_number + 1}: {value['rps']:7.1f} req/s,"
                            f" p50 {value['p50_ms']:.0f} ms, p95 {value['p95_ms']:.0f} ms,"
                            f" p99 {value['p99_ms']:.0f} ms, {value['failures']} failures",
                            flush=True,
                        )
                results["rounds"][users] = {group: _medians(runs[group]) for group in GROUPS}
    finally:
        for process in (server, counter):
            process.terminate()
            process.wait(timeout=30)
    results["workers"] = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"]
    return results
