from django.core.management.base import BaseCommand
from django_q.models import Schedule

from invitations.schedules import ensure_poll_schedule


class Command(BaseCommand):
    help = "Bring the poll schedule's interval in line with POLL_INTERVAL_MINUTES (idempotent)."

    def handle(self, *args, **options):
        ensure_poll_schedule(Schedule)
        schedule = Schedule.objects.get(name="invitations.poll_invitations")
        self.stdout.write(f"poll schedule: every {schedule.minutes} minute(s)")
