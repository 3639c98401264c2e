import sys

from django.core.management.base import BaseCommand

from rewards.services import fulfil_pending_grants, grant_missed_rewards


class Command(BaseCommand):
    help = (
        "Grant every qualified invitation left without a grant, in batches (as the 15-minute "
        "schedule does), then issue waiting grants while cards last (as the 5-minute one does). "
        "Exits 1 when an invitation could not be granted (see the log)."
    )

    def handle(self, *args, **options):
        swept = grant_missed_rewards()
        issued = fulfil_pending_grants()
        self.stdout.write(
            f"granted {swept.issued} issued, {swept.pending_stock} waiting for stock, "
            f"{swept.held} held, {swept.over_cap} over the cap, {swept.over_budget} over the "
            f"budget, {swept.deferred} over the day's limit; {swept.failed} failed; "
            f"then {issued} waiting grants issued"
        )
        if swept.failed:
            sys.exit(1)
