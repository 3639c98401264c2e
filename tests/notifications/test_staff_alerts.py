"""Anomaly alerts to the reviewers on the same outbox as the customers' messages: written with
the anomaly (or the run that finds it), e-mailed once per address by the cluster, apart from the
customers' gateway and its trouble."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from notifications import sms
from notifications.models import Message
from notifications.services import deliver_messages
from rewards.models import Anomaly
from rewards.services import raise_anomaly, report_card_problem
from rewards.services.alerts import alert_reviewers
from tests.factories import CustomerFactory, issued_grants_of

pytestmark = pytest.mark.django_db


class FailingMailBackend:
    """A mail server that refuses every message (connection refused, as smtplib says)."""

    sent: list = []

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        FailingMailBackend.sent.append(len(messages))
        raise ConnectionRefusedError(111, "Connection refused")

    def close(self):
        pass


@pytest.fixture(autouse=True)
def reviewers(settings, django_user_model):
    settings.ANOMALY_EMAIL_RECIPIENTS = ["desk@example.com"]
    reviewer = django_user_model.objects.create_user("li.reviewer", "li@example.com", "x")
    reviewer.groups.add(Group.objects.get_or_create(name="Reviewers")[0])
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def two_anomalies() -> list[Anomaly]:
    return [
        raise_anomaly("card_reported", f"GRANT-{n}", f"customer reports card {n}") for n in (1, 2)
    ]


def test_one_email_per_address_carries_every_anomaly_found_together(mailoutbox):
    first, second = two_anomalies()
    assert alert_reviewers() == 2
    assert alert_reviewers() == 0  # told once
    assert Message.objects.filter(kind="anomaly").count() == 4  # 2 anomalies x 2 addresses

    assert deliver_messages(max_seconds=10) == {"sent": 2, "failed": 0}
    assert sorted(mail.to[0] for mail in mailoutbox) == ["desk@example.com", "li@example.com"]
    for mail in mailoutbox:
        assert mail.subject.endswith(gettext("(and %(count)d more)") % {"count": 1})
        for anomaly in (first, second):
            assert f"/admin/rewards/anomaly/{anomaly.pk}/change/" in mail.body
            assert anomaly.message in mail.body
    assert deliver_messages(max_seconds=10) == {"sent": 0, "failed": 0}


def test_a_rolled_back_report_alerts_nobody():
    customer = CustomerFactory()
    [grant] = issued_grants_of(customer, 1)
    with pytest.raises(RuntimeError), transaction.atomic():
        report_card_problem(grant, customer, note="已被使用")
        assert Message.objects.filter(kind="anomaly").count() == 2
        raise RuntimeError("the request failed after the report")
    assert not Message.objects.filter(kind="anomaly").exists()
    assert not Anomaly.objects.exists()


def test_nobody_to_tell_keeps_the_anomaly_untold_until_somebody_is(settings):
    settings.ANOMALY_EMAIL_RECIPIENTS = []
    Group.objects.get(name="Reviewers").user_set.clear()
    [anomaly, _] = two_anomalies()
    assert alert_reviewers() == 0
    anomaly.refresh_from_db()
    assert anomaly.notified_at is None and not Message.objects.exists()
    settings.ANOMALY_EMAIL_RECIPIENTS = ["desk@example.com"]
    assert alert_reviewers() == 2


def test_alerts_go_at_night_and_while_the_sms_gateway_is_over_its_quota(
    settings, monkeypatch, mailoutbox
):
    shanghai = ZoneInfo("Asia/Shanghai")
    now = timezone.now().astimezone(shanghai)
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()
    settings.QUIET_HOURS = f"{start:%H:%M}-{end:%H:%M}"  # quiet now
    settings.MESSAGE_BURST_SECONDS = 0

    def busy(self, phone, text, idempotency_key=""):
        raise sms.GatewayBusy(30)

    monkeypatch.setattr(sms.OutboxSender, "send", busy)
    issued_grants_of(CustomerFactory(), 1)  # a customer's message, due at once
    two_anomalies()
    alert_reviewers()

    assert deliver_messages(max_seconds=5)["sent"] == 2  # both addresses, one e-mail each
    assert len(mailoutbox) == 2 and sms.outbox == []
    customer_message = Message.objects.get(recipient__isnull=False)
    assert customer_message.status == "waiting"  # held for the morning, not sent at night


def test_a_failing_mail_server_costs_one_attempt_and_holds_the_rest_for_the_next_run(settings):
    settings.EMAIL_BACKEND = f"{__name__}.FailingMailBackend"
    FailingMailBackend.sent.clear()
    two_anomalies()
    alert_reviewers()

    assert deliver_messages(max_seconds=10) == {"sent": 0, "failed": 1}
    assert FailingMailBackend.sent == [1]  # tried once, not once per address
    failed = Message.objects.filter(attempts=1)
    assert failed.count() == 2  # one address's e-mail: both its anomalies
    assert {message.last_error for message in failed} == {"mail server: ConnectionRefusedError"}
    assert failed.first().next_attempt_at > timezone.now()  # waits its backoff
    others = Message.objects.filter(attempts=0)
    assert others.count() == 2 and {m.status for m in others} == {"waiting"}
    assert {m.leased_until for m in others} == {None}  # given back, due for the next run


def test_a_message_goes_to_a_customer_or_to_an_address_never_neither():
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(kind="anomaly", next_attempt_at=timezone.now())
    customer = CustomerFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(
            kind="anomaly",
            recipient=customer.user,
            email="desk@example.com",
            next_attempt_at=timezone.now(),
        )


def test_staff_see_alerts_in_the_outbox_with_their_address_and_words(admin_client):
    two_anomalies()
    alert_reviewers()
    page = admin_client.get(reverse("admin:notifications_message_changelist"))
    assert page.status_code == 200 and "desk@example.com" in page.content.decode()
    alert = Message.objects.filter(email="desk@example.com").first()
    detail = admin_client.get(reverse("admin:notifications_message_change", args=[alert.pk]))
    assert "/admin/rewards/anomaly/" in detail.content.decode()


def test_alerts_not_sent_before_their_lease_runs_out_go_back_for_the_next_run(
    settings, monkeypatch, mailoutbox
):
    from notifications import services

    settings.MESSAGE_LEASE_SECONDS = 60
    two_anomalies()
    alert_reviewers()  # two addresses: two e-mails to send
    clock = iter([0.0, 0.0, 100.0, 100.0, 100.0, 100.0])
    monkeypatch.setattr(services.time, "monotonic", lambda: next(clock, 100.0))
    counts = {"sent": 0, "failed": 0}
    services._deliver_alerts(counts, batch_size=50)
    assert counts == {"sent": 1, "failed": 0} and len(mailoutbox) == 1
    back = Message.objects.filter(status="waiting")
    assert back.count() == 2 and {m.leased_until for m in back} == {None}  # due, keys kept
    assert None not in {m.batch_key for m in back}
