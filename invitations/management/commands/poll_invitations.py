from django.core.management.base import BaseCommand

from invitations.services import poll_invitations


class Command(BaseCommand):
    help = "Run one poll cycle now, through the same code path as the scheduled task."

    def add_arguments(self, parser):
        parser.add_argument("--max-seconds", type=float, default=None)

    def handle(self, *args, max_seconds=None, **options):
        cycle = poll_invitations(max_seconds=max_seconds)
        self.stdout.write(
            f"claimed {cycle.claimed}: qualified {cycle.qualified}, not yet opened "
            f"{cycle.not_yet_opened}, existing customers {cycle.ineligible}, already counted "
            f"{cycle.rejected}, expired {cycle.expired}, "
            f"errors {cycle.errors}, released {cycle.released}"
        )
