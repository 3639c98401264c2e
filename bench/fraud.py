"""Section 14: the fraud score on the grant path, and its false holds on honest traffic.

One process grants qualified invitations, each of its own inviter, one by one through
``grant_reward``: with the score (the sightings and whether the friend is a customer read in the
statement that locks the invitation; the rings only for a friend who is a customer) and
without it (that statement without them, ``granting._fraud_holds`` finding nothing), the two
alternating, fresh invitations each run, medians of the runs and of their paired ratios. The sightings are honest
traffic: each inviter seen on their own pages from their own browser and address, each friend
proving their number from a browser of their own, one in five from the inviter's address (a
family behind one home router), among ``background`` sightings of other inviters. A hold is a
false hold here: the count must be 0."""

import time
from datetime import timedelta

from django.db import connection
from django.db.models import Value
from django.utils import timezone

from core.compiled import CompiledQuery
from fraud.clients import digest
from fraud.models import Sighting
from invitations.models import Invitation
from rewards.lock_objects import invitations_for_reward
from rewards.models import Grant
from rewards.services import granting
from rewards.services.granting import grant_reward

from . import fixtures
from .common import execute, median

_runs = {"prefix": 800}  # customers 1801xxxxxxx and up (grant_path uses 1700-1799)


def _honest(count: int) -> list[int]:
    """``count`` qualified invitations of as many inviters, with their honest sightings."""
    _runs["prefix"] += 1
    prefix = str(_runs["prefix"])
    campaign = fixtures.qualified_of_own_inviters(count, prefix, "FR", spare=10)
    rows = list(
        Invitation.objects.filter(campaign=campaign)
        .order_by("pk")
        .values_list("pk", "inviter_id", "invitee_phone")
    )
    now = timezone.now()
    sightings = []
    for n, (_, inviter_id, phone) in enumerate(rows):
        home = digest("address", f"home-{inviter_id}")
        sightings.append(
            Sighting(
                step="inviter_page",
                inviter_id=inviter_id,
                address=home,
                device=digest("device", f"inviter-{inviter_id}"),
                seen_at=now - timedelta(hours=2),
            )
        )
        sightings.append(
            Sighting(
                step="phone_verified",
                inviter_id=inviter_id,
                phone=digest("phone", phone),
                address=home if n % 5 == 0 else digest("address", f"friend-{phone}"),
                device=digest("device", f"friend-{phone}"),
                seen_at=now - timedelta(hours=1),
            )
        )
    Sighting.objects.bulk_create(sightings, batch_size=2000)
    return [pk for pk, _, _ in rows]


def _background(count: int) -> None:
    execute(
        """INSERT INTO fraud_sighting (step, inviter_id, phone, address, device, seen_at)
        SELECT 'link_visit', -g, '', md5(g::text), md5((g * 7)::text),
               now() - make_interval(secs => g %% 86400)
        FROM generate_series(1, %s) g""",
        [count],
    )


def _rate(ids: list[int]) -> float:
    started = time.perf_counter()
    for invitation_id in ids:
        grant_reward(Invitation(pk=invitation_id))
    return len(ids) / (time.perf_counter() - started)


# The grant path's locking statement as it was before the score: its two columns constant.
_WITHOUT = CompiledQuery(
    lambda ids: (
        invitations_for_reward()
        .filter(pk__any=ids)
        .annotate(friend_is_customer=Value(False), inviter_sightings=Value(False))
        .values_list(*granting.LOCKED_FIELDS)
    ),
    [-9_000_000_001],
)


def run(quick: bool) -> dict:
    count, rounds, background = (200, 3, 20_000) if quick else (1000, 7, 200_000)
    _background(background)
    scored, lock = granting._fraud_holds, granting._LOCK_INVITATIONS
    rates = {"with the score": [], "without": []}
    held = 0
    for round_number in range(rounds):
        order = ["with the score", "without"][:: 1 if round_number % 2 == 0 else -1]
        for variant in order:
            ids = _honest(count)
            if variant == "without":
                granting._fraud_holds, granting._LOCK_INVITATIONS = (lambda rows: {}), _WITHOUT
            try:
                rates[variant].append(_rate(ids))
            finally:
                granting._fraud_holds, granting._LOCK_INVITATIONS = scored, lock
            if variant == "with the score":
                held += Grant.objects.filter(invitation_id__in=ids, status="held").count()
    ratios = [a / b for a, b in zip(rates["with the score"], rates["without"], strict=True)]
    result = {
        "count": count,
        "rounds": rounds,
        "background": background,
        "sightings": Sighting.objects.count(),
        "with": median(rates["with the score"]),
        "without": median(rates["without"]),
        "ratio": median(ratios),
        "runs": rates,
        "false_holds": held,
        "honest_grants": count * rounds,
    }
    print(
        f"  fraud score: {result['with']:.0f}/s with, {result['without']:.0f}/s without, "
        f"{result['ratio']:.2f}x; false holds {held} of {count * rounds}",
        flush=True,
    )
    connection.close()
    return result
