"""Messages to inviters through the transactional outbox: written with the change that causes
them, delivered once, merged in bursts, held in quiet hours, as the person chose."""

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cardpool.models import CardKind
from notifications import quiet, sms
from notifications.models import Channel, Message, MessageEvent, Preference
from notifications.services import claim_batches, deliver_messages, retry_message
from rewards.services import grant_reward
from tests.factories import CampaignFactory, CustomerFactory, make_cards, qualified_invitation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def at_once(settings):
    settings.MESSAGE_BURST_SECONDS = 0
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def secrets_of(grant) -> tuple[str, str]:
    from cardpool import secrets as card_secrets

    card = grant.card
    return card_secrets.decrypt(card.number_encrypted), card_secrets.decrypt(
        card.password_encrypted
    )


def rewarded(inviter=None, *, cards=1, points=200, kind_name=None):
    campaign = CampaignFactory(points=points)
    if kind_name:
        CardKind.objects.filter(pk=campaign.card_kind_id).update(name=kind_name)
        campaign.card_kind.refresh_from_db()
    make_cards(campaign.card_kind, cards)
    return grant_reward(
        qualified_invitation(campaign=campaign, inviter=inviter or CustomerFactory())
    )


def test_an_issued_reward_tells_the_inviter_once_by_sms_without_the_card(settings):
    settings.SITE_URL = "https://yq.example.cn"  # a short address, as production's should be
    grant = rewarded(kind_name="京东E卡20元")
    [message] = Message.objects.filter(recipient=grant.inviter.user)
    assert (message.kind, message.status, message.phone) == (
        "reward_issued",
        "waiting",
        grant.inviter.phone,
    )

    assert deliver_messages(max_seconds=10) == {"sent": 1, "failed": 0}
    [(phone, text)] = sms.outbox
    assert phone == grant.inviter.phone
    assert grant.card_kind.name in text and "200" in text and "/me/messages/" in text
    number, password = secrets_of(grant)
    assert number not in text and password not in text  # never the card, never its password
    assert "好友已开户" in text and len(text) <= 70  # Chinese by default, one SMS

    assert deliver_messages(max_seconds=10) == {"sent": 0, "failed": 0}
    message.refresh_from_db()
    assert (message.status, message.channel, message.sent_at is not None) == ("sent", "sms", True)


def test_a_rolled_back_grant_says_nothing():
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 1)
    invitation = qualified_invitation(campaign=campaign)
    with pytest.raises(RuntimeError), transaction.atomic():
        grant_reward(invitation)
        assert Message.objects.count() == 1
        raise RuntimeError("the qualification failed after the grant")
    assert Message.objects.count() == 0


def test_waiting_for_stock_then_arrived_are_both_told():
    from rewards.services import fulfil_pending_grants

    campaign = CampaignFactory()
    grant = grant_reward(qualified_invitation(campaign=campaign))
    assert grant.status == "pending_stock"
    make_cards(campaign.card_kind, 1)
    fulfil_pending_grants()
    kinds = list(
        Message.objects.filter(recipient=grant.inviter.user).order_by("pk").values_list("kind")
    )
    assert kinds == [("reward_waiting",), ("reward_issued",)]


def test_a_burst_for_one_person_goes_as_one_text():
    inviter = CustomerFactory()
    for _ in range(3):
        rewarded(inviter)
    assert deliver_messages(max_seconds=10)["sent"] == 1
    [(_, text)] = sms.outbox
    assert "3" in text
    keys = set(Message.objects.values_list("batch_key", flat=True))
    assert len(keys) == 1 and None not in keys


def test_the_persons_choice_is_respected(settings):
    grant = rewarded()
    Preference.objects.create(user=grant.inviter.user, channel=Channel.INBOX)
    deliver_messages(max_seconds=10)
    assert sms.outbox == []
    assert Message.objects.get().status == "inbox_only"


def test_at_most_n_sms_a_day_the_rest_stay_in_the_inbox(settings):
    settings.MESSAGE_SMS_PER_DAY = 1
    inviter = CustomerFactory()
    rewarded(inviter)
    deliver_messages(max_seconds=10)
    rewarded(inviter)
    deliver_messages(max_seconds=10)
    assert len(sms.outbox) == 1
    assert list(Message.objects.order_by("pk").values_list("status", flat=True)) == [
        "sent",
        "skipped",
    ]


def test_quiet_hours_hold_messages_until_morning(settings):
    shanghai = ZoneInfo("Asia/Shanghai")
    now = timezone.now().astimezone(shanghai)
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()
    settings.QUIET_HOURS = f"{start:%H:%M}-{end:%H:%M}"
    rewarded()
    assert deliver_messages(max_seconds=10) == {"sent": 0, "failed": 0}
    assert sms.outbox == []
    held = Message.objects.get()
    assert held.status == "waiting"
    assert held.next_attempt_at.astimezone(shanghai).time().replace(second=0) == end.replace(
        second=0, microsecond=0
    )


@pytest.mark.parametrize(
    ("at", "held_until"),
    [
        ("2026-12-05 22:30", "2026-12-06 08:00"),  # evening: the next morning
        ("2026-12-06 03:00", "2026-12-06 08:00"),  # night: this morning
        ("2026-12-06 08:00", None),
        ("2026-12-06 20:59", None),
        ("2026-12-06 21:00", "2026-12-07 08:00"),
    ],
)
def test_quiet_hours_run_overnight_in_shanghai(at, held_until):
    shanghai = ZoneInfo("Asia/Shanghai")
    now = datetime.fromisoformat(at).replace(tzinfo=shanghai).astimezone(UTC)
    until = quiet.held_until(now, (time(21), time(8)), "Asia/Shanghai")
    expected = datetime.fromisoformat(held_until).replace(tzinfo=shanghai) if held_until else None
    assert until == expected


def test_quiet_hours_refuse_a_malformed_setting_saying_how():
    with pytest.raises(ValueError, match="21:00-08:00"):
        quiet.parse("9pm to 8am")
    assert quiet.parse("") is None


def test_a_failing_gateway_is_retried_later_then_the_message_is_dead(settings, monkeypatch):
    settings.MESSAGE_MAX_ATTEMPTS = 2

    def refuse(self, phone, text, idempotency_key=""):
        raise sms.SmsNotSent("gateway answered HTTP 500")

    monkeypatch.setattr(sms.OutboxSender, "send", refuse)
    rewarded()
    assert deliver_messages(max_seconds=10) == {"sent": 0, "failed": 1}
    message = Message.objects.get()
    assert (message.status, message.attempts) == ("waiting", 1)
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=10)  # backoff
    first_key = message.batch_key

    Message.objects.update(next_attempt_at=timezone.now())
    deliver_messages(max_seconds=10)
    message.refresh_from_db()
    assert (message.status, message.attempts, message.batch_key) == ("dead", 2, first_key)
    assert "HTTP 500" in message.last_error

    monkeypatch.undo()
    retry_message(message, reason="gateway fixed", actor=None)
    deliver_messages(max_seconds=10)
    message.refresh_from_db()
    assert message.status == "sent" and len(sms.outbox) == 1
    assert MessageEvent.objects.get(message=message).reason == "gateway fixed"


def test_a_claim_in_progress_is_not_claimed_twice():
    rewarded()
    with transaction.atomic():
        [batch] = claim_batches(10)
    assert claim_batches(10) == []  # on lease
    Message.objects.update(leased_until=timezone.now() - timedelta(seconds=1))
    Message.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    [again] = claim_batches(10)  # the lease ran out: the same messages, the same key
    assert again.key == batch.key


def test_the_inbox_lists_messages_counts_unread_and_keeps_the_choice(client):
    grant = rewarded()
    client.force_login(grant.inviter.user)
    home = client.get(reverse("rewards:home")).content.decode()
    assert 'id="nav-messages"' in home and 'class="badge"' in home

    page = client.get(reverse("notifications:inbox")).content.decode()
    number, password = secrets_of(grant)
    assert grant.card_kind.name in page and number not in page and password not in page
    assert 'class="badge"' not in client.get(reverse("rewards:home")).content.decode()

    bad = client.post(reverse("notifications:preferences"), {"channel": "fax", "language": "en"})
    assert bad.status_code == 400
    assert 'value="en" selected' in bad.content.decode()  # the user's input is kept
    assert not Preference.objects.exists()

    # app notifications are offered only to those the app's gateway knows (a hand-off tied them)
    assert 'value="push"' not in page
    refused = client.post(
        reverse("notifications:preferences"), {"channel": "push", "language": "en"}
    )
    assert refused.status_code == 400 and not Preference.objects.exists()
    client.post(reverse("notifications:preferences"), {"channel": "inbox", "language": "en"})
    assert Preference.objects.get(user=grant.inviter.user).channel == "inbox"


def test_app_notifications_are_offered_to_those_who_came_from_the_app(client, settings):
    from signin.models import AppIdentity

    settings.PUSH_SENDER = "notifications.push.ConsoleSender"
    customer = CustomerFactory()
    AppIdentity.objects.create(issuer=settings.APP_HANDOFF_ISSUER, subject="C5", user=customer.user)
    client.force_login(customer.user)
    assert 'value="push"' in client.get(reverse("notifications:inbox")).content.decode()
    client.post(reverse("notifications:preferences"), {"channel": "push", "language": "zh-hans"})
    assert Preference.objects.get(user=customer.user).channel == "push"


def test_nobody_reads_another_persons_messages(client):
    rewarded()
    other = CustomerFactory()
    client.force_login(other.user)
    page = client.get(reverse("notifications:inbox")).content.decode()
    assert "好友已开户" not in page
    assert Message.objects.get().read_at is None


def test_staff_retry_a_dead_message_with_a_reason_in_the_admin(admin_client):
    grant = rewarded()
    Message.objects.update(status="dead", attempts=8, last_error="gateway answered HTTP 500")
    message = Message.objects.get()
    listing = admin_client.get(
        reverse("admin:notifications_message_changelist") + "?status__exact=dead"
    )
    assert listing.status_code == 200 and "HTTP 500" in listing.content.decode()
    page = admin_client.get(reverse("admin:notifications_message_change", args=[message.pk]))
    assert page.status_code == 200 and grant.card_kind.name in page.content.decode()

    admin_client.post(
        reverse("admin:notifications_message_changelist"),
        {"action": "retry_selected", "_selected_action": [message.pk], "apply": "1", "reason": ""},
    )
    message.refresh_from_db()
    assert message.status == "dead"  # no reason, nothing done
    admin_client.post(
        reverse("admin:notifications_message_changelist"),
        {"action": "retry_selected", "_selected_action": [message.pk], "apply": "1", "reason": "x"},
    )
    message.refresh_from_db()
    assert message.status == "waiting"
    assert MessageEvent.objects.get(message=message).reason == "x"
    assert grant.inviter.user_id == message.recipient_id


def test_the_grant_paths_statement_and_notify_write_the_same_message():
    """The set-based grant paths write the message inside their one statement
    (``rewards.batch_writes``); the single-grant paths through ``notify``: one row either way."""
    from rewards.notices import grants_changed

    grant = rewarded()
    grants_changed([grant])
    fields = ["recipient_id", "kind", "params", "phone", "status", "channel", "attempts"]
    by_statement, by_notify = Message.objects.order_by("pk").values(*fields, "last_error")
    assert by_statement == by_notify


def test_two_unfinished_sends_for_one_person_go_again_each_under_its_own_key():
    inviter = CustomerFactory()
    rewarded(inviter)
    [first] = claim_batches(10)
    rewarded(inviter)
    Message.objects.filter(batch_key=first.key).update(
        leased_until=None, next_attempt_at=timezone.now()
    )
    [second] = claim_batches(10)  # the new message waits: the unfinished send goes first, alone
    assert second.key == first.key and len(second.messages) == 1
    Message.objects.update(leased_until=None, next_attempt_at=timezone.now())
    Message.objects.filter(batch_key__isnull=True).update(batch_key=uuid.uuid4())
    [third] = claim_batches(10)
    assert len(third.messages) == 1  # never two keys' messages under one


def test_an_unopened_card_expiring_soon_is_reminded_once_unless_turned_off(settings):
    from cardpool.models import Card
    from rewards.services.reminders import remind_unopened_cards

    soon = rewarded()
    later = rewarded()
    opened = rewarded()
    for grant, days in ((soon, 3), (later, 30), (opened, 3)):
        Card.objects.filter(pk=grant.card_id).update(
            valid_until=timezone.localdate() + timedelta(days=days)
        )
    type(opened).objects.filter(pk=opened.pk).update(first_revealed_at=timezone.now())
    deliver_messages(max_seconds=10)
    sms.outbox.clear()

    assert remind_unopened_cards() == 1
    assert remind_unopened_cards() == 0  # once
    [reminder] = Message.objects.filter(kind="card_expiring")
    assert reminder.recipient_id == soon.inviter.user_id
    deliver_messages(max_seconds=10)
    [(_, text)] = sms.outbox
    assert soon.card_kind.name in text

    # a customer who turned reminders off finds them in the inbox, not by SMS
    quiet_one = rewarded()
    Card.objects.filter(pk=quiet_one.card_id).update(valid_until=timezone.localdate())
    deliver_messages(max_seconds=10)
    Preference.objects.create(user=quiet_one.inviter.user, reminders=False)
    sms.outbox.clear()
    assert remind_unopened_cards() == 1
    deliver_messages(max_seconds=10)
    assert sms.outbox == []
    assert Message.objects.get(kind="card_expiring", recipient=quiet_one.inviter.user).status == (
        "inbox_only"
    )


def test_push_chosen_without_an_app_identity_goes_by_sms(settings):
    settings.PUSH_SENDER = "notifications.push.ConsoleSender"
    grant = rewarded()
    Preference.objects.create(user=grant.inviter.user, channel=Channel.PUSH)
    deliver_messages(max_seconds=10)
    assert len(sms.outbox) == 1 and Message.objects.get().channel == "sms"


def test_a_reissue_tells_of_the_replacement_not_of_a_cancellation():
    from rewards.services import reissue_grant

    grant = rewarded(cards=2)
    Message.objects.all().delete()
    reissue_grant(grant, reason="card does not work", actor=None)
    assert list(Message.objects.values_list("kind", flat=True)) == ["reward_issued"]


def test_a_replacement_waiting_for_a_card_says_so():
    from rewards.services import reissue_grant

    grant = rewarded(cards=1)
    Message.objects.all().delete()
    reissue_grant(grant, reason="card does not work", actor=None)
    assert list(Message.objects.values_list("kind", flat=True)) == ["reward_waiting"]


def test_a_stale_worker_records_no_failure_over_the_one_that_took_its_batch_over():
    from notifications.services import record_failure

    rewarded()
    [stale] = claim_batches(10)
    Message.objects.update(
        leased_until=timezone.now() - timedelta(seconds=1),
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )
    [fresh] = claim_batches(10)
    assert fresh.key == stale.key
    record_failure(stale, "gateway answered HTTP 500")
    message = Message.objects.get()
    assert (message.attempts, message.last_error, message.leased_until) == (
        0,
        "",
        fresh.lease_end,
    )


def test_a_gateway_over_its_quota_costs_no_attempt_and_holds_every_worker_back(monkeypatch):
    from core.models import RateLimit
    from notifications.gateway import LIMITER_NAME

    def busy(self, phone, text, idempotency_key=""):
        raise sms.GatewayBusy(30)

    monkeypatch.setattr(sms.OutboxSender, "send", busy)
    rewarded()
    assert deliver_messages(max_seconds=5) == {"sent": 0, "failed": 0}
    message = Message.objects.get()
    assert (message.status, message.attempts, message.leased_until) == ("waiting", 0, None)
    held = RateLimit.objects.get(name=LIMITER_NAME).next_free_at
    assert held >= timezone.now() + timedelta(seconds=25)  # nobody sends before it says
    monkeypatch.undo()
    assert deliver_messages(max_seconds=1) == {"sent": 0, "failed": 0}  # still held back
    assert sms.outbox == []


def test_retry_after_is_read_within_bounds():
    from notifications.sms import _retry_after

    assert [_retry_after(v) for v in ("12", "0", "100000", "nan", "Wed, 21 Oct 2015", "")] == [
        12.0,
        1.0,
        60.0,
        5.0,
        5.0,
        5.0,
    ]


def test_a_retry_follows_the_choice_the_person_made_since(monkeypatch):
    def refuse(self, phone, text, idempotency_key=""):
        raise sms.SmsNotSent("gateway answered HTTP 500")

    monkeypatch.setattr(sms.OutboxSender, "send", refuse)
    grant = rewarded()
    deliver_messages(max_seconds=10)
    monkeypatch.undo()
    Preference.objects.create(user=grant.inviter.user, channel=Channel.INBOX)  # SMS turned off
    Message.objects.update(next_attempt_at=timezone.now())
    deliver_messages(max_seconds=10)
    assert sms.outbox == [] and Message.objects.get().status == "inbox_only"
