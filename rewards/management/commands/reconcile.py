import json
import sys

from django.core.management.base import BaseCommand, CommandError

from core.actors import SystemActor
from invitations.models import Campaign
from rewards.services.reconciliation import reconcile


class Command(BaseCommand):
    help = (
        "Check every invariant and print the counts to compare with the books. Exits 1 when an "
        "invariant is broken, naming each breach; warnings do not fail it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", type=int, help="Only this campaign (its id).")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, **options):
        campaign_id = options["campaign"]
        if campaign_id is not None and not Campaign.objects.filter(pk=campaign_id).exists():
            raise CommandError(f"No campaign with id {campaign_id}.")
        run = reconcile(campaign_id=campaign_id, actor_label=SystemActor.RECONCILE_COMMAND)
        report = run.report
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            self._print(report)
        if not run.is_ok:
            sys.exit(1)

    def _print(self, report: dict) -> None:
        scope = f"campaign #{report['campaign_id']}" if report["campaign_id"] else "all campaigns"
        self.stdout.write(f"Reconciliation of {scope} at {report['checked_at']}")
        for name, counts in report["counts"].items():
            line = ", ".join(f"{key} {value}" for key, value in counts.items()) or "none"
            self.stdout.write(f"  {name.replace('_', ' ')}: {line}")
        checked = len(report["invariants_checked"])
        if report["breaches"]:
            self.stdout.write(f"BREACHES: {len(report['breaches'])}")
            for breach in report["breaches"]:
                self.stdout.write(f"  {breach['rule']} {breach['subject']}: {breach['message']}")
        else:
            self.stdout.write(f"All {checked} invariants hold.")
        for warning in report["warnings"]:
            self.stdout.write(f"  warning: {warning['rule']}: {warning['message']}")
