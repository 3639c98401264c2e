"""A customer's card problem reports: one open report per card, and a daily limit per customer
across their cards. Repeated taps record nothing more and say the card is already reported."""

import time

import pytest
from django.test import Client
from django.urls import reverse

from rewards.models import Anomaly, GrantEvent
from rewards.services.anomalies import review_anomaly
from tests.factories import (
    CustomerFactory,
    issued_grants_of,
)
from tests.processes import run_workers, scalar


def logged_in(customer) -> Client:
    client = Client()
    client.force_login(customer.user)
    return client


def report(client, grant, **extra):
    url = reverse("rewards:report_card", args=[grant.grant_no])
    return client.post(url, {"problem": "activated", "note": "它说已被使用"}, **extra)


def text(response) -> str:
    return response.content.decode()


def reports_of(grant) -> tuple[int, int]:
    """(card_reported anomalies, 'reported' events) of the grant, counted in SQL."""
    return (
        scalar("SELECT count(*) FROM rewards_anomaly WHERE grant_id = %s", [grant.pk]),
        scalar(
            "SELECT count(*) FROM rewards_grantevent WHERE grant_id = %s AND action = 'reported'",
            [grant.pk],
        ),
    )


@pytest.mark.django_db
def test_a_hundred_taps_on_one_card_make_one_report_and_the_page_says_it_is_already_reported(
    admin_user,
):
    customer = CustomerFactory()
    [grant] = issued_grants_of(customer, 1)
    client = logged_in(customer)

    first = report(client, grant, follow=True)
    assert f"感谢反馈。我们正在核查奖励 {grant.grant_no} 的礼品卡" in text(first)
    started = time.monotonic()
    for _ in range(98):
        assert report(client, grant).status_code == 302
    last = report(client, grant, follow=True)
    assert time.monotonic() - started < 30

    assert reports_of(grant) == (1, 1)
    assert Anomaly.objects.get(grant=grant).occurrences == 1
    already = f"您已反馈过奖励 {grant.grant_no} 的卡，我们正在核查，如卡无法使用将为您更换"
    assert already in text(last)
    # the report page answers the same instead of offering the form again
    page = text(client.get(reverse("rewards:report_card", args=[grant.grant_no])))
    assert "您已反馈过这张卡" in page and 'name="problem"' not in page
    rewards = text(client.get(reverse("rewards:my_rewards")))
    assert "已反馈，核查中" in rewards and "您已反馈这张卡，我们正在核查" in rewards
    assert reverse("rewards:report_card", args=[grant.grant_no]) not in rewards

    # acknowledged is still open; once staff close it, the card can be reported again
    anomaly = Anomaly.objects.get(grant=grant)
    review_anomaly(anomaly, status="acknowledged", note="checking", actor=admin_user)
    report(client, grant)
    assert reports_of(grant) == (1, 1)
    review_anomaly(anomaly, status="resolved", note="该卡已验证可用", actor=admin_user)
    report(client, grant)
    assert reports_of(grant) == (2, 2)


@pytest.mark.django_db
def test_a_customer_reports_at_most_the_daily_limit_of_cards(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "card_reports_per_customer": (2, 86400)}
    customer = CustomerFactory()
    grants = issued_grants_of(customer, 3)
    client = logged_in(customer)

    for grant in grants[:2]:
        report(client, grant)
    refused = report(client, grants[2], follow=True)

    assert "您在 24 小时内已反馈 2 张卡，已达每日上限" in text(refused)
    assert reports_of(grants[2]) == (0, 0)
    assert GrantEvent.objects.filter(action="reported").count() == 2
    # a repeat on a reported card still answers "already reported", not the limit
    assert "您已反馈过奖励" in text(report(client, grants[0], follow=True))
    # the limit is per customer
    other = CustomerFactory()
    [theirs] = issued_grants_of(other, 1)
    report(logged_in(other), theirs)
    assert reports_of(theirs) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_taps_from_separate_processes_at_once_make_one_report():
    customer = CustomerFactory()
    [grant] = issued_grants_of(customer, 1)

    answers = run_workers(
        "tests.rewards.workers.report_cards",
        [(customer.pk, [grant.pk], 10, time.time() + 3)] * 6,
    )

    assert reports_of(grant) == (1, 1)
    assert sum(answer["reported"] for answer in answers) == 1
    assert sum(answer.get("CardAlreadyReported", 0) for answer in answers) == 59


@pytest.mark.django_db(transaction=True)
def test_reports_from_separate_processes_across_cards_stop_exactly_at_the_limit():
    customer = CustomerFactory()
    grants = issued_grants_of(customer, 6)
    ids = [grant.pk for grant in grants]

    answers = run_workers(
        "tests.rewards.workers.report_cards",
        [(customer.pk, ids[index:] + ids[:index], 1, time.time() + 3) for index in range(6)],
        RATE_LIMITS="card_reports_per_customer=3/86400",
    )

    assert scalar("SELECT count(*) FROM rewards_grantevent WHERE action = 'reported'") == 3
    assert scalar("SELECT count(*) FROM rewards_anomaly WHERE kind = 'card_reported'") == 3
    assert sum(answer["reported"] for answer in answers) == 3
    refused = {name for answer in answers for name in answer if name != "reported"}
    assert "TooManyReports" in refused and refused <= {"TooManyReports", "CardAlreadyReported"}
