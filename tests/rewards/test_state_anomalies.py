"""An alarm about a state says when the state has cleared and closes itself (#31, item 3).

The hole: the critical "out of stock with rewards waiting" anomaly was mailed minutes after the
restock was imported, stayed open and kept /health/status at 503 until someone resolved it by
hand, with no hint on its page that the condition had cleared. Through the detection schedule's
code, the anomaly's admin page and the health check."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Message
from notifications.services import deliver_messages
from operations.health import status
from rewards.models import Anomaly, AnomalyEvent, AnomalyRule
from rewards.services import grant_reward, report_card_problem
from rewards.services.detection import detect_anomalies
from tests.factories import CampaignFactory, make_cards, qualified_invitation

pytestmark = pytest.mark.django_db


def anomalies_check() -> bool:
    return {check.name: check.ok for check in status(timezone.now())}["anomalies"]


@pytest.fixture
def out_of_stock(settings):
    settings.ANOMALY_EMAIL_RECIPIENTS = ["reviewers@example.com"]
    campaign = CampaignFactory()
    grant_reward(qualified_invitation(campaign=campaign))  # no card: waits, raised at once
    anomaly = Anomaly.objects.get(kind=AnomalyRule.OUT_OF_STOCK)
    assert anomaly.severity == "critical" and anomaly.notified_at is None
    assert anomaly.details == {"waiting": 1}  # said, not null
    return campaign, anomaly


def test_an_alarm_the_run_sees_already_cleared_is_not_mailed_and_does_not_fail_health(
    out_of_stock, mailoutbox, admin_client
):
    campaign, anomaly = out_of_stock
    assert not anomalies_check()
    make_cards(campaign.card_kind, 50)  # the restock, imported before the next run

    run = detect_anomalies()
    deliver_messages(max_seconds=10)

    anomaly.refresh_from_db()
    assert anomaly.status == "open" and anomaly.cleared_at is not None and run.cleared >= 1
    link = reverse("admin:rewards_anomaly_change", args=[anomaly.pk])
    assert not [mail for mail in mailoutbox if link in mail.body]
    assert not Message.objects.filter(kind="anomaly", params__anomaly=anomaly.pk).exists()
    assert anomalies_check()
    page = admin_client.get(reverse("admin:rewards_anomaly_change", args=[anomaly.pk]))
    assert "情况已于" in page.content.decode() and "自动关闭" in page.content.decode()


def test_a_cleared_state_closes_itself_with_an_event_once_it_stays_cleared(out_of_stock, settings):
    campaign, anomaly = out_of_stock
    make_cards(campaign.card_kind, 50)
    detect_anomalies()
    Anomaly.objects.filter(pk=anomaly.pk).update(
        cleared_at=timezone.now() - timedelta(minutes=settings.ANOMALY_CLEARED_CLOSE_MINUTES)
    )

    detect_anomalies()

    anomaly.refresh_from_db()
    assert anomaly.status == "resolved" and anomaly.closed_at is not None
    event = AnomalyEvent.objects.filter(anomaly=anomaly).latest("created_at")
    assert "cleared at" in event.reason and "stayed cleared" in event.reason


def test_a_state_found_again_before_it_closes_stays_open_and_is_no_longer_cleared(out_of_stock):
    campaign, anomaly = out_of_stock
    make_cards(campaign.card_kind, 1)
    detect_anomalies()
    assert Anomaly.objects.get(pk=anomaly.pk).cleared_at is not None
    grant_reward(qualified_invitation(campaign=campaign))  # takes the card: out of stock again

    detect_anomalies()

    anomaly.refresh_from_db()
    assert anomaly.status == "open" and anomaly.cleared_at is None


def test_one_customers_card_report_stays_for_a_person_and_does_not_fail_health():
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 1)
    grant = grant_reward(qualified_invitation(campaign=campaign))
    report = report_card_problem(grant, grant.inviter)

    detect_anomalies()
    detect_anomalies()

    report.refresh_from_db()
    assert report.status == "open" and report.cleared_at is None
    assert anomalies_check()


def test_a_state_found_again_is_counted_on_its_anomaly_with_what_was_found_this_time(
    out_of_stock,
):
    campaign, anomaly = out_of_stock
    grant_reward(qualified_invitation(campaign=campaign))  # a second grant waits now
    Anomaly.objects.filter(pk=anomaly.pk).update(  # seen cleared once, as it was then
        cleared_at=timezone.now(), details={"waiting": 1}, message="old"
    )
    anomaly.refresh_from_db()
    run = detect_anomalies()
    again = Anomaly.objects.get(pk=anomaly.pk)
    assert run.seen_again >= 1 and anomaly.pk not in run.opened
    assert (again.occurrences, again.details, again.cleared_at) == (
        anomaly.occurrences + 1,
        {"waiting": 2},
        None,
    )
    assert again.last_seen_at > anomaly.last_seen_at and again.message != "old"
