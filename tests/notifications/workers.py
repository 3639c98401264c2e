"""Functions run in worker processes (``tests.processes``) by the outbox's process tests."""

import time

from notifications.models import Message
from notifications.services import deliver_messages


def deliver_until_done(seconds: float) -> dict:
    """Deliver, again and again, until no message waits or ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    totals = {"sent": 0, "failed": 0}
    while time.monotonic() < deadline:
        counts = deliver_messages(max_seconds=5, batch_size=5)
        totals = {key: totals[key] + counts[key] for key in totals}
        if not Message.objects.filter(status=Message.Status.WAITING).exists():
            break
        time.sleep(0.1)
    return totals
