from django.conf import settings
from django.core.management.base import BaseCommand
from django_q.models import Schedule

from invitations.schedules import ensure_poll_schedule


class Command(BaseCommand):
    help = (
        "Bring interval schedules in line with their settings (POLL_INTERVAL_MINUTES, "
        "ANOMALY_INTERVAL_MINUTES); idempotent."
    )

    def handle(self, *args, **options):
        ensure_poll_schedule(Schedule)
        for name, minutes in settings.SCHEDULE_INTERVALS.items():
            updated = Schedule.objects.filter(name=name).update(minutes=minutes)
            state = f"every {minutes} minute(s)" if updated else "missing: run migrate first"
            self.stdout.write(f"{name}: {state}")
