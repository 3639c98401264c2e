"""Personal data kept no longer than needed (PIPL): the number of an invitee who never opened an
account is erased once the invitation's window plus ``INVITEE_PHONE_RETENTION_DAYS`` has
passed. It becomes a keyed digest (``phones.erased_phone``): the invitation, its counts and the
ledger stay, and the same number is still refused a second invitation in that campaign."""

import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction

from core.clock import database_now

from ..models import Invitation
from ..phones import erased_phone

ERASE = """
UPDATE {table} AS i SET invitee_phone = batch.digest, phone_erased_at = %(now)s
FROM unnest(%(ids)s::bigint[], %(digests)s::varchar[]) AS batch (id, digest)
WHERE i.id = batch.id AND i.phone_erased_at IS NULL
"""


def erasable():
    """Invitations whose invitee never opened an account, past their window and retention."""
    before = database_now() - timedelta(days=settings.INVITEE_PHONE_RETENTION_DAYS)
    return Invitation.objects.filter(
        status=Invitation.Status.EXPIRED,
        external_account_id__isnull=True,
        phone_erased_at__isnull=True,
        qualify_by__lt=before,
    )


def erase_unopened_phones(*, batch: int = 5000, max_seconds: float = 50) -> int:
    """Erase in batches (one short transaction each, rows skipped while another run holds them)
    until none is left or the time is up; returns how many. Memory: one batch of ids."""
    deadline = time.monotonic() + max_seconds
    erased = 0
    while time.monotonic() < deadline:
        with transaction.atomic():
            rows = list(
                erasable()
                .order_by("pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", "invitee_phone")[:batch]
            )
            if not rows:
                break
            with connection.cursor() as cursor:
                cursor.execute(
                    ERASE.format(table=Invitation._meta.db_table),
                    {
                        "now": database_now(),
                        "ids": [pk for pk, _ in rows],
                        "digests": [erased_phone(phone) for _, phone in rows],
                    },
                )
                erased += cursor.rowcount
    return erased
