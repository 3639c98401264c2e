"""Schedules of the worker cluster, created idempotently (django-q2's ``schedule()`` checks with a
racy ``exists()`` and names are not unique in its table, so we ``update_or_create`` by name)."""

from django.conf import settings

POLL = "invitations.poll_invitations"


def ensure_poll_schedule(schedule_model) -> None:
    """Called by migration invitations/0002 (landed before data migrations stopped importing
    live code): keep its signature and what it creates unchanged."""
    # Every POLL_INTERVAL_MINUTES (2 by default, as the upstream's old job ran). Runs may
    # overlap (a slow run and the next tick, or two clusters): claims and leases make it harmless.
    schedule_model.objects.update_or_create(
        name=POLL,
        defaults={
            "func": "invitations.tasks.poll_invitations",
            "schedule_type": "I",
            "minutes": settings.POLL_INTERVAL_MINUTES,
            "repeats": -1,
        },
    )
