"""Functions run in separate processes by the concurrency tests (see tests/processes.py)."""

import time

from django.db import transaction
from django.utils import timezone

from cardpool.models import Card, CardEvent, CardKind
from cardpool.services import allocate_cards


def _broken_allocate(kind: CardKind) -> list[int]:
    """The incident's way: read a free card without a lock, then mark it by id."""
    card = (
        Card.objects.filter(kind=kind, status=Card.Status.AVAILABLE)
        .order_by("valid_until", "id")
        .first()
    )
    if card is None:
        return []
    time.sleep(0.002)  # the window in which another worker reads the same row
    Card.objects.filter(pk=card.pk).update(status=Card.Status.ASSIGNED, assigned_at=timezone.now())
    CardEvent.record(
        CardEvent.Action.ASSIGNED, card=card, from_status="available", to_status="assigned"
    )
    return [card.pk]


def allocate_until_empty(kind_code: str, broken: bool = False) -> list[int]:
    kind = CardKind.objects.get(code=kind_code)
    taken = []
    while True:
        with transaction.atomic():
            card_ids = _broken_allocate(kind) if broken else allocate_cards(kind.pk, 1)
        if not card_ids:
            return taken
        taken += card_ids


def import_file(
    kind_code: str, file_name: str, files: list[tuple[str, int, bool]], start_at: float
) -> str:
    """Import a CSV made of ``(prefix, count, reversed)`` parts of good rows at ``start_at`` (so
    that several processes start together); "imported", or the first problem of the refusal."""
    from cardpool.exceptions import CardImportRejected
    from cardpool.services import import_cards
    from tests.cardpool.files import csv_bytes, good_rows

    rows = []
    for prefix, count, backwards in files:
        part = good_rows(count, prefix)
        rows += list(reversed(part)) if backwards else part
    content = csv_bytes(rows)
    kind = CardKind.objects.get(code=kind_code)
    time.sleep(max(0.0, start_at - time.time()))
    try:
        import_cards(kind=kind, file_name=file_name, content=content)
    except CardImportRejected as refusal:
        return str(refusal.errors[0])
    return "imported"


def confirm_and_import(upload_id: int, start_at: float) -> list:
    """What a manager's click and a (possibly repeated) import task do, from another process:
    [whether this confirmation started the import, the upload's status afterwards]."""
    from cardpool.models import CardUpload
    from cardpool.services import confirm_upload, import_upload

    upload = CardUpload.objects.get(pk=upload_id)
    time.sleep(max(0.0, start_at - time.time()))
    started = confirm_upload(upload)
    return [started, import_upload(upload_id).status]


def import_upload_now(upload_id: int) -> str:
    from cardpool.services import import_upload

    return import_upload(upload_id).status


def count_cards_at(start_at: float) -> int:
    from cardpool.services.stock_counts import count_cards

    time.sleep(max(0.0, start_at - time.time()))
    return count_cards()
