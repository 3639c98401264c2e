"""What a signed "account opened" event does: it is a signal, never a fact. The invitee's pending
invitations are looked up now, through the normal client, limiter and identity check; a forged,
replayed or mistaken event costs at most one lookup per invitation and grants nothing by itself.
An event is taken once (its id), and a sender's accepted events are limited
(``opening_events_per_sender`` in ``RATE_LIMITS``)."""

from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q

from account_opening.events import OpeningEvent as SignedEvent
from core.clock import database_now
from core.throttles import rate

from ..check_policy import Priority
from ..models import Invitation, OpeningEvent, OpeningEventCount
from .bursts import start_bursts

ACCEPTED, DUPLICATE, IGNORED, THROTTLED = "accepted", "duplicate", "ignored", "throttled"
KEPT_FOR = timedelta(days=1)


@transaction.atomic
def take_opening_event(event: SignedEvent, sender: str) -> str:
    """Record the event once and bring its invitee's pending invitations' next check forward to
    now (first in line). Returns the outcome: ``accepted``, ``duplicate`` (its id was taken
    before: nothing more happens), ``ignored`` (another event type) or ``throttled`` (the sender
    is over its rate: nothing recorded, the sender retries later)."""
    if event.ignored:
        return IGNORED
    now = database_now()
    limit = rate("opening_events_per_sender")
    recent = OpeningEvent.objects.filter(
        sender=sender, received_at__gt=now - timedelta(seconds=limit.seconds)
    )
    if recent.count() >= limit.count:
        return THROTTLED
    taken, created = OpeningEvent.objects.get_or_create(
        event_id=event.event_id,
        defaults={
            "sender": sender,
            "sent_at": datetime.fromtimestamp(event.sent_at, tz=UTC),
            "received_at": now,
        },
    )
    if not created:
        return DUPLICATE
    # Invitations already first in line and due need nothing more (a burst of events for one
    # number brings it forward once and queues one poll).
    at_the_front = Q(check_priority=Priority.SIGNAL, next_check_at__lte=now)
    pending = Invitation.objects.filter(invitee_phone=event.phone).exclude(at_the_front)
    taken.invitation_ids = start_bursts(pending, now, first_check_now=True)
    taken.save(update_fields=["invitation_ids"])
    if taken.invitation_ids:
        _poll_soon()
    return ACCEPTED


def _poll_soon() -> None:
    """A poll cycle queued for the worker cluster once the commit is done, so the invitation due
    now is looked up in seconds, not at the next tick (a broker failure is logged; the schedule
    is the safety net). Cycles that overlap are harmless: claims and leases."""
    from django_q.tasks import async_task

    transaction.on_commit(
        lambda: async_task(
            "invitations.tasks.poll_invitations", task_name="poll after an opening event"
        ),
        robust=True,
    )


COUNT = """
INSERT INTO {table} AS counted (minute, outcome, count) VALUES (date_trunc('minute', now()), %s, 1)
ON CONFLICT (minute, outcome) DO UPDATE SET count = counted.count + 1
"""


def count_event(outcome: str) -> None:
    """One more event of this outcome this minute (its own statement, outside the event's
    transaction: a refused event is counted too)."""
    with connection.cursor() as cursor:
        cursor.execute(COUNT.format(table=OpeningEventCount._meta.db_table), [outcome[:20]])


def purge_opening_events() -> int:
    """Events and counts older than a day go: an id is refused by its timestamp long before."""
    before = database_now() - KEPT_FOR
    deleted, _ = OpeningEvent.objects.filter(received_at__lt=before).delete()
    OpeningEventCount.objects.filter(minute__lt=before).delete()
    return deleted
