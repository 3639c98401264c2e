"""The outbox. ``notify`` writes messages in the caller's transaction (the change that causes
them): a change rolled back says nothing, a committed one cannot lose its message.
``deliver_messages`` (the worker cluster, every minute) sends them by SMS or push outside any
transaction holding locks, each send once under its idempotency key.

Why a table claimed with SKIP LOCKED rather than a django-q2 task per message: the row is the
message (the inbox reads it too), claiming in batches lets a burst for one person go as one
text, and the row's state (attempts, next attempt, dead) is what staff see and retry; a broker's
task would be a second copy of that state, in Redis in production, outside the transaction.

1. Claim: lock due messages (SKIP LOCKED) and the same people's other waiting ones, decide the
   channel (the person's choice, quiet hours, the daily SMS limit), stamp a send key (the
   idempotency key) and a lease, commit.
2. Send each batch's text outside any transaction; the gateway drops a key it has delivered.
3. Record: sent, or the failure with a growing wait and jitter; dead after
   ``MESSAGE_MAX_ATTEMPTS``. A worker killed between 1 and 3 leaves the batch leased: when the
   lease ends it is claimed again and sent under the same key, so the gateway delivers it once.
"""

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils.module_loading import import_string

from core.backoff import doubling
from core.clock import database_now
from core.exceptions import required_reason
from core.locks import AdvisoryLock

from . import quiet, texts
from .gateway import gateway_limiter
from .mail import send_email
from .models import Channel, Message, MessageEvent, Preference
from .push import send_push
from .sms import GatewayBusy, SmsNotSent, send_sms

logger = logging.getLogger(__name__)

LONGEST_RETRY_WAIT = timedelta(hours=1)
REMINDERS = {Message.Kind.CARD_EXPIRING}  # what a person may turn off (kept in the inbox)


@dataclass(frozen=True)
class Notice:
    """One message to write: to whom (a customer, and their own phone for SMS; or, for a staff
    alert, an e-mail address and no customer), what about."""

    recipient_id: int | None
    kind: str
    params: dict
    phone: str = ""
    email: str = ""


def notify(notices: list[Notice]) -> list[Message]:
    """Write the messages in the caller's transaction, one statement however many. A customer's
    is sent once its burst window (``MESSAGE_BURST_SECONDS``) has passed; a staff alert is due
    at once (the alerts due together for one address still go as one e-mail)."""
    if not notices:
        return []
    now = database_now()
    burst = now + timedelta(seconds=settings.MESSAGE_BURST_SECONDS)
    return Message.objects.bulk_create(
        Message(
            recipient_id=notice.recipient_id,
            kind=notice.kind,
            params=notice.params,
            phone=notice.phone,
            email=notice.email,
            next_attempt_at=now if notice.email else burst,
        )
        for notice in notices
    )


@dataclass
class Batch:
    """Messages for one person sent as one text, under one key."""

    key: uuid.UUID
    recipient_id: int | None  # None: a staff alert
    channel: str
    address: str  # the phone for SMS, the app's customer id for push, the staff's e-mail
    language: str
    messages: list[Message]
    lease_end: datetime


def _preferences(recipient_ids) -> dict[int, Preference]:
    found = {p.user_id: p for p in Preference.objects.filter(user_id__in=recipient_ids)}
    return {pk: found.get(pk) or Preference(user_id=pk) for pk in recipient_ids}


def _sms_sent_today(recipient_id: int, now: datetime) -> int:
    """SMS batches this person got today, and those on their way now."""
    return (
        Message.objects.filter(recipient_id=recipient_id, channel=Channel.SMS)
        .filter(
            Q(status=Message.Status.SENT, sent_at__gte=quiet.start_of_day(now))
            | Q(status=Message.Status.WAITING, leased_until__gt=now)
        )
        .values("batch_key")
        .distinct()
        .count()
    )


def _settle(rows: list[Message], now: datetime, **changes) -> None:
    Message.objects.filter(pk__in=[row.pk for row in rows]).update(leased_until=None, **changes)


def _batch_for(rows: list[Message], preference: Preference, now: datetime) -> Batch | None:
    """Decide what happens to one person's waiting messages now; a batch to send, or None.

    A send that failed, or whose worker died, goes again once its own wait is over: the same
    messages under the same key. Otherwise the messages never sent go as one new batch."""
    keyed = [row for row in rows if row.batch_key is not None and row.next_attempt_at <= now]
    if keyed:
        rows = [row for row in keyed if row.batch_key == keyed[0].batch_key]
        key, channel, resent = rows[0].batch_key, rows[0].channel, True
    else:
        rows = [row for row in rows if row.batch_key is None]
        key, channel, resent = uuid.uuid4(), preference.channel, False
    # The person's choice as it is now, a retry included: what they turned off stays in the inbox.
    if preference.channel == Channel.INBOX:
        channel = Channel.INBOX
    if not preference.reminders:
        reminders = [row for row in rows if row.kind in REMINDERS]
        _settle(reminders, now, status=Message.Status.INBOX_ONLY, channel=Channel.INBOX)
        rows = [row for row in rows if row.kind not in REMINDERS]
    if not rows:
        return None
    push_to = _push_address(rows[0].recipient_id) if channel == Channel.PUSH else None
    if channel == Channel.PUSH and push_to is None:
        channel = Channel.SMS  # no push gateway, or not a customer of the app: by SMS
    if channel == Channel.INBOX:
        _settle(rows, now, status=Message.Status.INBOX_ONLY, channel=Channel.INBOX)
        return None
    held = quiet.quiet_until(now)
    if held is not None:
        _settle(rows, now, next_attempt_at=held)
        return None
    phone = next((row.phone for row in rows if row.phone), "")
    if channel == Channel.SMS and not resent:
        if not phone:
            _settle(rows, now, status=Message.Status.SKIPPED, last_error="no phone number")
            return None
        if _sms_sent_today(rows[0].recipient_id, now) >= settings.MESSAGE_SMS_PER_DAY:
            _settle(
                rows,
                now,
                status=Message.Status.SKIPPED,
                channel=Channel.SMS,
                last_error=f"the daily limit of {settings.MESSAGE_SMS_PER_DAY} SMS was reached",
            )
            return None
    lease_end = _lease(rows, key, channel, now)
    address = push_to if channel == Channel.PUSH else phone
    return Batch(key, rows[0].recipient_id, channel, address, preference.language, rows, lease_end)


def _push_address(recipient_id: int) -> str | None:
    """Whom the app's push gateway knows this person as (``PUSH_RECIPIENT`` names the function:
    the brokerage's customer id from their hand-off), or None: no gateway, or never came from
    the app."""
    if not settings.PUSH_SENDER:
        return None
    return import_string(settings.PUSH_RECIPIENT)(recipient_id)


def push_offered(user_id: int) -> bool:
    return _push_address(user_id) is not None


def _lease(rows: list[Message], key: uuid.UUID, channel: str, now: datetime) -> datetime:
    lease_end = now + timedelta(seconds=settings.MESSAGE_LEASE_SECONDS)
    Message.objects.filter(pk__in=[row.pk for row in rows]).update(
        batch_key=key, channel=channel, leased_until=lease_end, next_attempt_at=lease_end
    )
    return lease_end


@transaction.atomic
def claim_alerts(limit: int) -> list[Batch]:
    """Lease up to ``limit`` due staff alerts, one batch (one e-mail) per address: a retry under
    its own key, the new ones together under a new key. No quiet hours and no daily limit: an
    alert is what the reviewers want now. Commits before returning."""
    now = database_now()
    rows = list(
        Message.objects.filter(
            status=Message.Status.WAITING, recipient__isnull=True, next_attempt_at__lte=now
        )
        .select_for_update(skip_locked=True)
        .order_by("email", "pk")[:limit]
    )
    groups: dict[tuple, list[Message]] = {}
    for row in rows:
        groups.setdefault((row.email, row.batch_key), []).append(row)
    batches = []
    for (email, key), mine in groups.items():
        key = key or uuid.uuid4()
        lease_end = _lease(mine, key, Channel.EMAIL, now)
        batches.append(
            Batch(key, None, Channel.EMAIL, email, settings.LANGUAGE_CODE, mine, lease_end)
        )
    return batches


@transaction.atomic
def claim_batches(limit: int) -> list[Batch]:
    """Lease up to ``limit`` customers' due messages (commits before returning)."""
    now = database_now()
    due = Message.objects.filter(
        status=Message.Status.WAITING, recipient__isnull=False, next_attempt_at__lte=now
    )
    recipients = sorted(
        set(
            due.select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "pk")
            .values_list("recipient_id", flat=True)[: limit * 4]
        )
    )[:limit]
    if not recipients:
        return []
    # Each person's other waiting messages go with the due ones (a burst becomes one text),
    # except those another worker is sending now (on lease).
    rows = list(
        Message.objects.filter(status=Message.Status.WAITING, recipient_id__in=recipients)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
        .select_for_update(skip_locked=True)
        .order_by("recipient_id", "pk")
    )
    by_person: dict[int, list[Message]] = {}
    for row in rows:
        by_person.setdefault(row.recipient_id, []).append(row)
    # One worker at a time forms a person's batch (another may hold some of their rows, SKIP
    # LOCKED, and would make a second text and miscount the daily limit): the rest wait.
    by_person = {person: mine for person, mine in by_person.items() if _formed_by_us(person)}
    preferences = _preferences(list(by_person))
    batches = []
    for recipient_id, mine in by_person.items():
        if not any(row.next_attempt_at <= now for row in mine):
            continue  # its due rows were taken by another worker meanwhile
        batch = _batch_for(mine, preferences[recipient_id], now)
        if batch is not None:
            batches.append(batch)
    return batches


def _formed_by_us(recipient_id: int) -> bool:
    """A lock on (MESSAGES, person) until this claim's transaction ends; False when another
    worker holds it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)",
            [int(AdvisoryLock.MESSAGES), recipient_id % 2**31],
        )
        return cursor.fetchone()[0]


def send(batch: Batch) -> None:
    """Send one batch's text by its channel; raises ``SmsNotSent`` when the gateway (or the
    mail server) refuses."""
    if batch.channel == Channel.EMAIL:
        subject, body = texts.alert_email(batch.messages, batch.language)
        send_email(batch.address, subject, body, idempotency_key=str(batch.key))
        return
    text = texts.outgoing(batch.messages, batch.language)
    if batch.channel == Channel.SMS:
        send_sms(batch.address, text, idempotency_key=str(batch.key))
    else:
        send_push(
            batch.address,
            texts.title(batch.language),
            text,
            idempotency_key=str(batch.key),
        )


def record_sent(batch: Batch) -> int:
    return Message.objects.filter(batch_key=batch.key, status=Message.Status.WAITING).update(
        status=Message.Status.SENT, sent_at=database_now(), leased_until=None, last_error=""
    )


@transaction.atomic
def record_failure(batch: Batch, error: str) -> None:
    """The batch stays as it is (the same messages, the same key) and is tried again after a
    growing wait with jitter, so that many failures do not come back at once; dead after
    ``MESSAGE_MAX_ATTEMPTS``."""
    now = database_now()
    rows = list(
        Message.objects.select_for_update().filter(
            batch_key=batch.key, status=Message.Status.WAITING, leased_until=batch.lease_end
        )
    )
    if not rows:
        return  # its lease ran out and another worker took the batch over: theirs to record
    attempts = max(row.attempts for row in rows) + 1
    first = timedelta(seconds=settings.MESSAGE_RETRY_FIRST_SECONDS)
    wait = doubling(attempts, first, LONGEST_RETRY_WAIT) * random.uniform(0.5, 1.0)
    status = (
        Message.Status.DEAD if attempts >= settings.MESSAGE_MAX_ATTEMPTS else Message.Status.WAITING
    )
    _settle(
        rows,
        now,
        attempts=attempts,
        status=status,
        last_error=error[:500],
        next_attempt_at=now + wait,
    )


def release(batches: list[Batch]) -> None:
    """Give claimed batches back, due now, their key kept (nothing was sent)."""
    Message.objects.filter(
        batch_key__in=[batch.key for batch in batches], status=Message.Status.WAITING
    ).update(leased_until=None, next_attempt_at=database_now())


def _sent(batch: Batch) -> str | None:
    """Send one batch: None when it went, else the error to record (``GatewayBusy`` passes up:
    not the message's fault)."""
    try:
        send(batch)
    except GatewayBusy:
        raise
    except SmsNotSent as error:
        return str(error)
    except Exception as error:  # a sender failing in an unforeseen way: retried too
        logger.exception("sending message batch %s failed unexpectedly", batch.key)
        return f"unexpected {type(error).__name__}"
    return None


def _deliver_alerts(counts: dict, batch_size: int) -> None:
    """Staff alerts first, apart from the customers' messages: a gateway over its quota or
    hanging does not hold the reviewers' e-mail back. A mail server that fails ends this pass
    (the rest wait for the next run, not once per alert on a dead server)."""
    batches = claim_alerts(batch_size)
    # within the lease (a slow mail server, many addresses): past it, another worker may claim
    # the same alerts, so the rest go back, due now, their keys kept
    deadline = time.monotonic() + 0.8 * settings.MESSAGE_LEASE_SECONDS
    for index, batch in enumerate(batches):
        if time.monotonic() > deadline:
            release(batches[index:])
            return
        error = _sent(batch)
        if error is not None:
            record_failure(batch, error)
            release(batches[index + 1 :])
            counts["failed"] += 1
            return
        record_sent(batch)
        counts["sent"] += 1


def deliver_messages(*, max_seconds: float = 50, batch_size: int = 50) -> dict:
    """Send the due staff alerts, then claim, send and record customers' messages until nothing
    is due or the time is up, at most ``MESSAGE_GATEWAY_RATE`` sends a second across every
    worker; returns counts."""
    deadline = time.monotonic() + max_seconds
    limiter = gateway_limiter()
    counts = {"sent": 0, "failed": 0}
    _deliver_alerts(counts, batch_size)
    while time.monotonic() < deadline:
        batches = claim_batches(batch_size)
        if not batches:
            break
        for index, batch in enumerate(batches):
            if not limiter.wait_for_slot(deadline):
                release(batches[index:])  # out of time before the gateway's next free slot
                return counts
            try:
                error = _sent(batch)
            except GatewayBusy as busy:
                # over the gateway's quota: not the message's fault, no attempt counted; nobody
                # sends before it says, and this run gives its batches back
                limiter.push_back(busy.retry_after)
                release(batches[index:])
                return counts
            if error is not None:
                record_failure(batch, error)
                counts["failed"] += 1
                continue
            record_sent(batch)
            counts["sent"] += 1
    return counts


@transaction.atomic
def retry_message(message: Message, *, reason: str, actor) -> Message:
    """Staff send a dead (or skipped) message again now, under a new key (one message of a
    dead batch may be retried without the others)."""
    reason = required_reason(reason)
    locked = Message.objects.select_for_update().get(pk=message.pk)
    if locked.status not in (Message.Status.DEAD, Message.Status.SKIPPED):
        return locked
    locked.status = Message.Status.WAITING
    locked.attempts = 0
    locked.next_attempt_at = database_now()
    locked.batch_key = None
    locked.save(update_fields=["status", "attempts", "next_attempt_at", "batch_key"])
    MessageEvent.record(MessageEvent.Action.RETRIED, message=locked, actor=actor, reason=reason)
    return locked


def mark_read(recipient_id: int) -> int:
    return Message.objects.filter(recipient_id=recipient_id, read_at__isnull=True).update(
        read_at=database_now()
    )


def unread_count(recipient_id: int) -> int:
    return Message.objects.filter(recipient_id=recipient_id, read_at__isnull=True).count()


def forget_user(user_id: int) -> int:
    """A person erased on request: their messages (the inbox) and choices go; returns how many
    messages. Runs in the caller's transaction."""
    Preference.objects.filter(user_id=user_id).delete()
    # a message staff acted on keeps its row (its events are history), emptied
    Message.objects.filter(recipient_id=user_id, events__isnull=False).update(phone="", params={})
    deleted, _ = Message.objects.filter(recipient_id=user_id, events__isnull=True).delete()
    return deleted
