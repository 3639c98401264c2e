import sys

from django.core.management.base import BaseCommand

from cardpool.services import reencrypt_cards


class Command(BaseCommand):
    help = (
        "Re-encrypt every card number and password under the newest key in CARD_ENCRYPTION_KEYS. "
        "Put the new key first, keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, *args, **options):
        def progress(done: int, total: int) -> None:
            sys.stderr.write(f"\rre-encrypted {done}/{total} cards")

        done = reencrypt_cards(progress=progress)
        sys.stderr.write("\n")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {done} cards under the newest key."))
