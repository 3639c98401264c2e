"""Reminding customers of cards they never opened, before the cards expire."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.clock import database_now

from ..models import Grant
from ..notices import cards_expiring

BATCH = 1000


@transaction.atomic
def remind_unopened_cards() -> int:
    """Each issued grant whose card was never opened and expires within
    ``CARD_REMINDER_DAYS`` (local dates, as the cards' validity) gets one reminder; returns how
    many now. Grants another run holds are skipped; a later run takes the rest."""
    now = database_now()
    today = timezone.localdate(now)
    grants = list(
        Grant.objects.filter(
            status=Grant.Status.ISSUED,
            first_revealed_at__isnull=True,
            reminded_at__isnull=True,
            card__valid_until__gte=today,
            card__valid_until__lte=today + timedelta(days=settings.CARD_REMINDER_DAYS),
        )
        .select_related("card", "card_kind", "inviter")
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("pk")[:BATCH]
    )
    cards_expiring(grants)
    Grant.objects.filter(pk__in=[grant.pk for grant in grants]).update(reminded_at=now)
    return len(grants)
