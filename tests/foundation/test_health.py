"""/health/live, /health/ready (for a load balancer) and /health/status (for monitoring)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from invitations.models import PollCycle
from rewards.models import Anomaly, ReconciliationRun

pytestmark = pytest.mark.django_db


def failing(response) -> list[str]:
    return response.json()["failing"]


def test_live_answers_whatever_the_rest(client):
    response = client.get("/health/live")
    assert response.status_code == 200 and response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]


def test_ready_needs_the_database_migrations_and_broker_but_not_the_poller(client):
    response = client.get("/health/ready")  # no poll cycle ever ran
    assert response.status_code == 200, response.json()
    assert set(response.json()["checks"]) == {"database", "migrations", "broker"}


def test_ready_fails_naming_the_broker_it_cannot_reach(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = client.get("/health/ready")
    assert response.status_code == 503 and failing(response) == ["broker"]


def test_status_names_each_failing_check_then_turns_ok(client):
    response = client.get("/health/status")
    assert response.status_code == 503
    assert failing(response) == ["poller", "reconciliation"]

    PollCycle.objects.create(worker="w", started_at=timezone.now(), finished_at=timezone.now())
    run = ReconciliationRun.objects.create(is_ok=True, finished_at=timezone.now())
    assert client.get("/health/status").status_code == 200

    # one customer's card report is a reviewer's work, not the service's health
    Anomaly.objects.create(kind="card_reported", subject="g", severity="critical", message="m")
    assert client.get("/health/status").status_code == 200
    Anomaly.objects.create(kind="out_of_stock", subject="k", severity="critical", message="m")
    ReconciliationRun.objects.filter(pk=run.pk).update(is_ok=False, breaches=2)
    response = client.get("/health/status")
    assert response.status_code == 503 and failing(response) == ["reconciliation", "anomalies"]
    assert response.json()["checks"]["anomalies"]["detail"] == "1 critical open"


def test_metrics_answer_scrapers_on_our_networks_in_prometheus_format(client):
    from rewards.services import grant_reward
    from tests.factories import CampaignFactory, make_cards, qualified_invitation

    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 1)
    grant_reward(qualified_invitation(campaign=campaign))
    grant_reward(qualified_invitation(campaign=campaign))  # no card left: waits for stock
    response = client.get("/metrics")  # the test client comes from 127.0.0.1
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'referral_grants{status="issued"} 1' in text
    assert 'referral_grants{status="pending_stock"} 1' in text
    assert f'referral_grants_waiting_for_stock{{kind="{campaign.card_kind.code}"}} 1' in text
    assert 'referral_anomalies_open{severity="warning"}' in text
    assert 'referral_messages{status="waiting"} 2' in text  # the issued and the waiting grant's
    assert "referral_messages_oldest_due_seconds 0" in text  # within their burst window
    assert "# TYPE referral_cards_imported_total counter" in text


def test_metrics_refuse_other_networks_unless_the_token_is_given(client, settings):
    from django.test import Client

    outside = Client(REMOTE_ADDR="203.0.113.9")
    assert outside.get("/metrics").status_code == 403
    settings.METRICS_TOKEN = "s3cret-token"
    assert outside.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert outside.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


def healthy_poller_and_clean_run(hours_ago: float = 1) -> ReconciliationRun:
    now = timezone.now()
    PollCycle.objects.create(worker="w", started_at=now, finished_at=now)
    run = ReconciliationRun.objects.create(is_ok=True, finished_at=now - timedelta(hours=hours_ago))
    ReconciliationRun.objects.filter(pk=run.pk).update(
        started_at=now - timedelta(hours=hours_ago, minutes=2)
    )
    return run


@pytest.fixture(scope="module")
def committed_by_children(django_db_blocker):
    """Reconciliation runs a child process committed: outside the test's transaction, so its
    rollback leaves them; deleted once the module is done (after that rollback)."""
    run_ids = []
    yield run_ids
    with django_db_blocker.unblock():
        ReconciliationRun.objects.filter(pk__in=run_ids).delete()


def test_a_reconciliation_killed_midway_leaves_the_status_to_the_last_finished_run(
    client, committed_by_children
):
    """``manage.py reconcile`` really killed (SIGKILL) once its run is recorded: the run never
    finishes. The clean run before it decides; once unfinished past RECONCILE_MAX_MINUTES it is
    a warning of its own, and the next finished run makes it history."""
    import signal
    import subprocess
    import sys
    import time

    from django.db import connection

    from tests.processes import ROOT, worker_environment

    healthy_poller_and_clean_run()
    with connection.cursor() as cursor:  # the run's first reads wait here until the kill
        cursor.execute("LOCK TABLE rewards_grant, cardpool_card IN ACCESS EXCLUSIVE MODE")
    child = subprocess.Popen(
        [sys.executable, "manage.py", "reconcile"],
        cwd=ROOT,
        env=worker_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not ReconciliationRun.objects.filter(finished_at__isnull=True).exists():
            assert child.poll() is None and time.monotonic() < deadline, "no run recorded"
            time.sleep(0.1)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    killed = ReconciliationRun.objects.get(finished_at__isnull=True)
    committed_by_children.append(killed.pk)

    response = client.get("/health/status")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["reconciliation_stuck"] == {"ok": True, "detail": "running"}

    ReconciliationRun.objects.filter(pk=killed.pk).update(
        started_at=timezone.now() - timedelta(minutes=31)
    )
    response = client.get("/health/status")
    body = response.json()
    assert response.status_code == 200 and body["failing"] == [], body
    assert body["warnings"] == ["reconciliation_stuck"]
    assert f"run {killed.pk} started" in body["checks"]["reconciliation_stuck"]["detail"]
    assert "unfinished after 30 min" in body["checks"]["reconciliation_stuck"]["detail"]

    ReconciliationRun.objects.create(is_ok=True, finished_at=timezone.now())
    body = client.get("/health/status").json()
    assert body["warnings"] == [] and body["status"] == "ok", body


def test_a_breach_in_the_last_finished_run_stays_red_whatever_started_after_it(client):
    run = healthy_poller_and_clean_run()
    ReconciliationRun.objects.filter(pk=run.pk).update(is_ok=False, breaches=3)
    ReconciliationRun.objects.create()  # started since, unfinished: not a clean bill
    response = client.get("/health/status")
    assert response.status_code == 503 and failing(response) == ["reconciliation"]
    assert response.json()["checks"]["reconciliation"]["detail"].startswith("3 breaches")


def test_a_reconciliation_that_never_finished_or_finished_too_long_ago_is_failing(client, settings):
    now = timezone.now()
    PollCycle.objects.create(worker="w", started_at=now, finished_at=now)
    ReconciliationRun.objects.create()  # only ever killed
    response = client.get("/health/status")
    assert failing(response) == ["reconciliation"]
    assert response.json()["checks"]["reconciliation"]["detail"] == "never finished"

    ReconciliationRun.objects.all().delete()
    healthy_poller_and_clean_run(hours_ago=49)  # every daily run since was killed
    response = client.get("/health/status")
    assert response.status_code == 503 and failing(response) == ["reconciliation"]
    assert "older than 48 h" in response.json()["checks"]["reconciliation"]["detail"]
    settings.RECONCILE_MAX_AGE_HOURS = 72
    assert client.get("/health/status").status_code == 200


def test_the_review_desk_shows_the_last_finished_reconciliation(client, admin_user):
    from django.utils.translation import gettext as _

    healthy_poller_and_clean_run()
    ReconciliationRun.objects.create()  # killed midway: 0 breaches, not ok, never finished
    client.force_login(admin_user)
    page = client.get("/admin/").content.decode()
    assert _("all invariants hold") in page


def test_outsiders_learn_only_ok_or_not_and_staff_or_our_networks_the_details(
    client, settings, admin_user
):
    from django.contrib.auth.models import User
    from django.test import Client

    now = timezone.now()
    PollCycle.objects.create(worker="w", started_at=now, finished_at=now)
    ReconciliationRun.objects.create(is_ok=True, finished_at=now)
    Anomaly.objects.create(kind="out_of_stock", subject="k", severity="critical", message="m")
    outside = Client(REMOTE_ADDR="203.0.113.9")

    response = outside.get("/health/status")
    assert response.status_code == 503 and response.json() == {"status": "failing"}
    # a forged forwarding header changes nothing when no proxy of ours is declared
    forged = outside.get("/health/status", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert forged.json() == {"status": "failing"}
    ready = outside.get("/health/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}

    customer = User.objects.create_user("13800138000", password="x")
    outside.force_login(customer)
    assert outside.get("/health/status").json() == {"status": "failing"}
    former_staff = User.objects.create_user("gone", password="x", is_staff=True, is_active=False)
    outside.force_login(former_staff)
    assert outside.get("/health/status").json() == {"status": "failing"}

    outside.force_login(admin_user)  # staff, from anywhere
    body = outside.get("/health/status").json()
    assert body["failing"] == ["anomalies"]
    assert body["checks"]["anomalies"]["detail"] == "1 critical open"

    settings.METRICS_TOKEN = "s3cret-token"  # whoever /metrics answers
    token = Client(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert token.get("/health/status").json()["failing"] == ["anomalies"]
    wrong = Client(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-tokem")
    assert wrong.get("/health/status").json() == {"status": "failing"}
    assert "checks" in client.get("/health/status").json()  # the test client is 127.0.0.1
