"""Delivering the outbox until it is empty, in a worker process of its own (the outbox's
process tests and the messages benchmark start it with ``devtools.worker``)."""

import time

from notifications.models import Message
from notifications.services import deliver_messages


def deliver_until_done(seconds: float, batch_size: int = 5) -> dict:
    """Deliver, again and again, until no message waits or ``seconds`` have passed (small
    claims by default: a worker killed mid-way leaves few batches leased)."""
    deadline = time.monotonic() + seconds
    totals = {"sent": 0, "failed": 0}
    while time.monotonic() < deadline:
        counts = deliver_messages(max_seconds=5, batch_size=batch_size)
        totals = {key: totals[key] + counts[key] for key in totals}
        if not Message.objects.filter(status=Message.Status.WAITING).exists():
            break
        time.sleep(0.1)
    return totals
