"""Recording sightings and forgetting them (PIPL: ``models``' docstring says what and how long).

A page records at most one sighting of a client per step, inviter (and number) in
``SIGHTING_EVERY``: a flood of visits writes one row an hour per browser, not one per request."""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q

from core.clock import database_now

from .clients import Client, digest
from .models import Sighting

SIGHTING_EVERY = timedelta(hours=1)


_RECORD = """
INSERT INTO fraud_sighting (step, inviter_id, campaign_id, phone, address, device, seen_at)
SELECT %(step)s::varchar, %(inviter)s::bigint, %(campaign)s::bigint, %(phone)s::varchar,
       %(address)s::varchar, %(device)s::varchar, now()
WHERE NOT EXISTS (
    SELECT 1 FROM fraud_sighting
    WHERE inviter_id = %(inviter)s::bigint AND step = %(step)s::varchar
      AND seen_at > now() - %(every)s::interval AND phone = %(phone)s::varchar
      AND device = %(device)s::varchar AND address = %(address)s::varchar)
"""


def record_sighting(
    step: str,
    client: Client,
    *,
    inviter_id: int,
    phone: str = "",
    campaign_id: int | None = None,
) -> bool:
    """Note ``client`` at ``step`` of ``inviter_id``'s referral (``phone``: the number proved,
    kept as a digest; ``campaign_id``: the campaign a link visit saw); False when it was noted
    in the last hour already. One statement."""
    params = {
        "step": str(step),
        "inviter": inviter_id,
        "campaign": campaign_id,
        "phone": digest("phone", phone) if phone else "",
        "address": client.address,
        "device": client.device,
        "every": SIGHTING_EVERY,
    }
    with connection.cursor() as cursor:
        cursor.execute(_RECORD, params)
        return cursor.rowcount == 1


def purge_sightings() -> int:
    """Delete what is older than ``FRAUD_SIGNALS_KEEP_DAYS``; returns how many rows went."""
    before = database_now() - timedelta(days=settings.FRAUD_SIGNALS_KEEP_DAYS)
    deleted, _ = Sighting.objects.filter(Q(seen_at__lt=before)).delete()
    return deleted


def sightings_of_person(phone: str, customer_id: int | None):
    """What is recorded of one person: their number proved, and their own visits of their
    pages as an inviter (visits of their link are the visitors')."""
    mine = Q(step=Sighting.Step.PHONE_VERIFIED, phone=digest("phone", phone))
    if customer_id is not None:
        mine |= Q(step=Sighting.Step.INVITER_PAGE, inviter_id=customer_id)
    return Sighting.objects.filter(mine)


def forget_person(phone: str, customer_id: int | None) -> int:
    """Delete what is recorded of one person (an erasure on their request); returns how many
    rows went."""
    deleted, _ = sightings_of_person(phone, customer_id).delete()
    return deleted
