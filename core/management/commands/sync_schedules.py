from django.core.management.base import BaseCommand

from core.schedules import sync_schedules


class Command(BaseCommand):
    help = (
        "Create or update every schedule of the worker cluster from the apps' schedules.py and "
        "the interval settings (POLL_INTERVAL_MINUTES, ANOMALY_INTERVAL_MINUTES); idempotent. "
        "migrate runs it too."
    )

    def handle(self, *args, **options):
        for every, created in sync_schedules():
            fields = every.fields()
            when = (
                f"every {fields['minutes']} minute(s)"
                if fields["minutes"]
                else {"H": "hourly", "D": "daily"}[fields["schedule_type"]]
            )
            self.stdout.write(f"{every.name}: {when}{' (created)' if created else ''}")
