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
    assert "# TYPE referral_cards_imported_total counter" in text


def test_metrics_refuse_other_networks_unless_the_token_is_given(client, settings):
    from django.test import Client

    outside = Client(REMOTE_ADDR="203.0.113.9")
    assert outside.get("/metrics").status_code == 403
    settings.METRICS_TOKEN = "s3cret-token"
    assert outside.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert outside.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
