import sys

from django.core.management.base import BaseCommand

from rewards.models import Anomaly
from rewards.services.detection import detect_anomalies


class Command(BaseCommand):
    help = (
        "Run every anomaly rule once (as the schedule does). Exits 1 when a critical anomaly is "
        "open or acknowledged, 0 otherwise."
    )

    def handle(self, *args, **options):
        run = detect_anomalies()
        self.stdout.write(
            f"opened {len(run.opened)}, seen again {run.seen_again}, closed {run.closed}, "
            f"campaigns paused {run.paused_campaigns or 'none'}, alerts queued {run.alerted}"
        )
        if run.truncated_rules:
            self.stderr.write(
                "rules with more findings than ANOMALY_MAX_FINDINGS_PER_RULE (the first were "
                f"recorded): {', '.join(run.truncated_rules)}"
            )
        if run.failed_rules:
            self.stderr.write(f"rules that failed (see the log): {', '.join(run.failed_rules)}")
        active = Anomaly.objects.filter(status__in=Anomaly.ACTIVE).order_by("-severity", "kind")
        for anomaly in active:
            self.stdout.write(
                f"  [{anomaly.severity}] {anomaly.kind} {anomaly.subject}: {anomaly.message}"
            )
        if run.critical_active or run.failed_rules:
            sys.exit(1)
