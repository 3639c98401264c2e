"""Nothing that talks to the outside world runs inside a transaction that holds locks.

A mail server that accepts and never answers must block no customer, no reviewer and no worker:
the anomaly's alert is written to the outbox with the anomaly and e-mailed by the cluster outside
any transaction, with ``EMAIL_TIMEOUT``.
"""

import json
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from account_opening.client import HttpAccountOpeningClient
from core.outbound import OutboundInsideTransaction
from invitations.models import Invitation
from notifications import sms
from notifications.mail import send_email
from notifications.models import Message
from notifications.services import deliver_messages
from rewards.models import Anomaly
from tests.factories import (
    CampaignFactory,
    CustomerFactory,
    InvitationFactory,
    issued_grants_of,
    make_cards,
)
from tests.outbound import outbound_calls, silent_smtp_server
from tests.pages.codes import last_code
from tests.processes import start_worker

EMAIL_TIMEOUT = 2


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def report(client, grant, problem="activated"):
    url = reverse("rewards:report_card", args=[grant.grant_no])
    return client.post(url, {"problem": problem, "note": "它说已被使用"})


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_that_never_answers_blocks_no_customer_no_reviewer_and_no_worker(
    admin_user, settings
):
    settings.ANOMALY_EMAIL_RECIPIENTS = ["desk@example.com"]
    customer = CustomerFactory()
    first, second = issued_grants_of(customer, 2)
    customer_client = logged_in(customer.user)
    assert report(customer_client, first).status_code == 302
    anomaly = Anomaly.objects.get(grant=first)

    with silent_smtp_server() as server:
        # the outbox's delivery e-mails the reviewers' alert, and the mail server hangs
        worker = start_worker(
            "tests.rewards.workers.deliver_with_smtp", server.port, EMAIL_TIMEOUT=EMAIL_TIMEOUT
        )
        try:
            assert server.connected.wait(60), "the worker never reached the mail server"
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '1s'")  # a lock held by the sender: an error
            try:
                # meanwhile the anomaly's row is free: the sender holds no lock on it
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT id FROM rewards_anomaly WHERE id = %s FOR UPDATE NOWAIT",
                        [anomaly.pk],
                    )
                # the customer taps again, and reports their other card, at once
                again, took = timed(lambda: report(customer_client, first))
                assert again.status_code == 302 and took < 1
                other, took = timed(lambda: report(customer_client, second))
                assert other.status_code == 302 and took < 1
                # a reviewer acknowledges the anomaly being emailed, at once
                staff_client = logged_in(admin_user)
                acknowledged, took = timed(
                    lambda: staff_client.post(
                        reverse("admin:rewards_anomaly_changelist"),
                        {
                            "action": "acknowledge",
                            "_selected_action": [anomaly.pk],
                            "apply": "1",
                            "reason": "checking with the supplier",
                        },
                    )
                )
                assert acknowledged.status_code == 302 and took < 1
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("RESET lock_timeout")
            # and the sender gives up after EMAIL_TIMEOUT, once for the whole run
            stdout, stderr = worker.communicate(timeout=EMAIL_TIMEOUT + 30)
            assert worker.returncode == 0, stderr
            run = json.loads(stdout.strip().splitlines()[-1])
            assert run["failed"] == 1  # the alert; the rest of the run went on
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    anomaly.refresh_from_db()
    assert anomaly.status == "acknowledged"
    # not lost: the alert waits for its retry, the failure said
    alert = Message.objects.get(kind="anomaly", params__anomaly=anomaly.pk)
    assert (alert.status, alert.attempts) == ("waiting", 1)
    assert alert.last_error.startswith("mail server:")
    assert Anomaly.objects.filter(kind="card_reported", status__in=Anomaly.ACTIVE).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_report_writes_the_reviewers_alert_with_itself_and_it_is_emailed_once(
    settings, mailoutbox
):
    settings.ANOMALY_EMAIL_RECIPIENTS = ["desk@example.com"]
    settings.SITE_URL = "https://yq.example.cn"
    customer = CustomerFactory()
    [grant] = issued_grants_of(customer, 1)

    with outbound_calls() as calls:
        response = report(logged_in(customer.user), grant)
        assert response.status_code == 302 and not mailoutbox  # the request sent nothing
        anomaly = Anomaly.objects.get(grant=grant)
        [alert] = Message.objects.filter(kind="anomaly")  # committed with the anomaly
        assert (alert.email, alert.recipient_id) == ("desk@example.com", None)
        assert anomaly.notified_at is not None
        assert deliver_messages(max_seconds=10) == {"sent": 1, "failed": 0}  # the cluster
        assert deliver_messages(max_seconds=10) == {"sent": 0, "failed": 0}  # once

    [email] = mailoutbox
    assert f"/admin/rewards/anomaly/{anomaly.pk}/change/" in email.body
    assert email.to == ["desk@example.com"]
    alert.refresh_from_db()
    # the send's key is the e-mail's Message-ID: a mail system drops a copy it already has
    assert email.extra_headers["Message-ID"] == f"<{alert.batch_key}@yq.example.cn>"
    assert [call.what for call in calls] == ["mail"]
    assert not any(call.inside_transaction for call in calls)


@pytest.mark.django_db(transaction=True)
def test_no_sms_mail_or_upstream_call_happens_inside_a_transaction(settings, mailoutbox, upstream):
    """Each of the product's outbound paths, run for real, is watched at its last step."""
    settings.ANOMALY_EMAIL_RECIPIENTS = ["desk@example.com"]
    inviter = CustomerFactory()
    campaign = CampaignFactory(points=200)
    make_cards(campaign.card_kind, 2)
    pending = InvitationFactory(campaign=campaign, invitee_phone="15900000001")
    opened = {"account_id": "A1", "opened_at": timezone.now().isoformat(), "channel": "app"}
    upstream.add_accounts([{"phone": pending.invitee_phone, **opened}])
    sms.outbox.clear()

    with outbound_calls() as calls:
        # SMS: the landing page's code (the sign-up sends it through the same service)
        client = Client()
        landing = reverse("invitations:landing", args=[inviter.invite_code])
        client.post(landing, {"phone": "15900000002", "consent": "on"})
        client.post(
            reverse("invitations:verify", args=[inviter.invite_code]),
            {"code": last_code("15900000002")},
        )
        # upstream: a poll cycle
        from invitations.services import poll_invitations

        poll_invitations()
        # mail: the detection run's alerts, delivered by the outbox
        from rewards.services.detection import detect_anomalies

        detect_anomalies()
        deliver_messages(max_seconds=10)

    assert {call.what for call in calls} == {"sms", "upstream", "mail"}, calls
    assert not [call for call in calls if call.inside_transaction]
    assert Invitation.objects.filter(invitee_phone="15900000002").exists()


@pytest.mark.django_db
def test_every_sender_refuses_to_run_inside_a_transaction(settings):
    settings.ANOMALY_EMAIL_RECIPIENTS = ["desk@example.com"]
    with transaction.atomic():
        with pytest.raises(OutboundInsideTransaction):
            sms.send_sms("15900000001", "x")
        with pytest.raises(OutboundInsideTransaction):
            send_email("desk@example.com", "x", "x", idempotency_key="k")
        with pytest.raises(OutboundInsideTransaction):
            HttpAccountOpeningClient().lookup("15900000001")
    assert not sms.outbox or sms.outbox[-1] != ("15900000001", "x")
