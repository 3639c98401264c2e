"""/health/live, /health/ready (for a load balancer) and /health/status (for monitoring)."""

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

    Anomaly.objects.create(kind="card_reported", subject="g", severity="critical", message="m")
    ReconciliationRun.objects.filter(pk=run.pk).update(is_ok=False, breaches=2)
    response = client.get("/health/status")
    assert response.status_code == 503 and failing(response) == ["reconciliation", "anomalies"]
    assert response.json()["checks"]["anomalies"]["detail"] == "1 critical open"
