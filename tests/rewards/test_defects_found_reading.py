"""Defects a careful read found (#26): each test fails on the code before its fix."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection

from cardpool.models import Card
from rewards.anomalies.pipeline import upstream_error_rate
from rewards.anomalies.registry import Rule
from rewards.models import Anomaly, AnomalyRule
from rewards.selectors import stock_by_kind
from rewards.services.detection import detect_anomalies
from tests.factories import CardKindFactory, make_cards

pytestmark = pytest.mark.django_db


def test_stock_counts_by_the_local_date_as_allocation_does(settings):
    """From 00:00 to 08:00 in Shanghai the UTC date is yesterday's: the desk, /metrics and the
    stock rules counted cards that allocation refuses."""
    settings.CARD_MIN_VALIDITY_DAYS = 30
    kind = CardKindFactory()
    cards = make_cards(kind, 2)
    now = datetime(2026, 12, 5, 17, 30, tzinfo=UTC)  # 01:30 on 6 December there
    local_horizon = date(2026, 12, 6) + timedelta(days=30)
    Card.objects.filter(pk=cards[0].pk).update(valid_until=local_horizon - timedelta(days=1))
    Card.objects.filter(pk=cards[1].pk).update(valid_until=local_horizon)

    [stock] = stock_by_kind(now)

    assert stock.allocatable == 1  # the first expires a day too soon, as allocation judges


def test_metrics_escape_label_values_as_the_text_format_says(client):
    CardKindFactory(code='J\\D"2\n0', name="odd")

    body = client.get("/metrics").content.decode()

    assert 'kind="J\\\\D\\"2\\n0"' in body
    sample = re.compile(
        r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-z_]+="([^"\\\n]|\\[\\"n])*",?)*\})? -?[0-9.e+]+$'
    )
    for line in body.splitlines():
        assert line.startswith("#") or sample.match(line), line


def test_the_upstream_rule_with_no_minimum_and_no_lookups_finds_nothing(settings):
    settings.ANOMALY_THRESHOLDS = {**settings.ANOMALY_THRESHOLDS, "upstream_min_lookups": 0}

    assert upstream_error_rate(datetime.now(UTC)) == []


def test_a_failing_rule_is_a_critical_anomaly_a_failed_task_and_closes_when_it_works(
    monkeypatch,
):
    from operations.health import status
    from rewards import tasks
    from rewards.services import detection

    def broken(now):
        raise ValueError("column does not exist")

    rules = detection.RULES
    monkeypatch.setattr(detection, "RULES", (*rules, Rule("low_stock", "warning", broken)))

    with pytest.raises(RuntimeError, match="low_stock"):
        tasks.detect_anomalies()

    [failed] = Anomaly.objects.filter(kind=AnomalyRule.RULE_FAILED, status="open")
    assert failed.severity == "critical" and "column does not exist" in failed.message
    checks = {check.name: check.ok for check in status(datetime.now(UTC))}
    assert not checks["anomalies"]

    monkeypatch.setattr(detection, "RULES", rules)
    detect_anomalies()

    failed.refresh_from_db()
    assert failed.status == "resolved"
    assert connection.vendor == "postgresql"
