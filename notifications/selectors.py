"""The outbox's health, for /metrics and the anomaly rules."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q

from .models import Message


@dataclass(frozen=True)
class OutboxHealth:
    due: int  # waiting messages whose time has come (not held for quiet hours or a retry)
    oldest_due_seconds: float  # how long the oldest of those has been due (0: none)
    dead_24h: int  # messages that failed for good in the last day
    by_status: dict[str, int]  # every message by status


def outbox_health(now: datetime) -> OutboxHealth:
    due = Message.objects.filter(status=Message.Status.WAITING, next_attempt_at__lte=now)
    figures = due.aggregate(n=Count("pk"), oldest=Min("next_attempt_at"))
    by_status = dict(Message.objects.values_list("status").annotate(n=Count("pk")).order_by())
    dead = Message.objects.filter(
        Q(status=Message.Status.DEAD), next_attempt_at__gte=now - timedelta(days=1)
    ).count()
    oldest = figures["oldest"]
    return OutboxHealth(
        due=figures["n"],
        oldest_due_seconds=(now - oldest).total_seconds() if oldest else 0.0,
        dead_24h=dead,
        by_status=by_status,
    )
