"""The fraud score a grant gets before it is paid (``rewards.services.granting`` asks, for the
invitations it is about to grant). Each signal adds its weight (``FRAUD_SIGNALS``, a setting);
at ``hold_at`` or more the grant is held for a reviewer, with the reasons listed on the review
desk, never refused silently. One signal alone stays under the default threshold, so family
members sharing a home router (one address) are not held for it; three or more friends proving
their numbers from the inviter's own address within a day are two signals, and held.

- ``same_device``: the friend proved their number from a browser the inviter used on their own
  pages;
- ``same_address``: ... from the inviter's address (an IPv6 client by its /64);
- ``crowd``: the browser or the address the friend proved their number from proved
  ``crowd_size`` or more numbers of the same inviter within ``crowd_hours``;
- ``ring``: the friend, as an inviter, leads back to this inviter (A invites B, B invites A, or a
  longer loop: ``invitations.selectors.invitations_in_rings`` finds those);
- ``at_minimum``: the campaign asks for a first deposit and the friend's was the minimum, or at
  most ``minimum_margin`` percent more: what an account opened only for the reward deposits.
  (Whether the friend acts again afterwards the upstream does not tell, and the score is made
  before the payment.)
"""

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models.functions import JSONObject
from django.utils.translation import gettext, gettext_lazy

from .clients import digest
from .models import Sighting


def sightings_of(inviter) -> ArraySubquery:
    """The sightings ``scores`` reads of the inviter ``inviter`` (an ``OuterRef``), as one
    array column: the grant path reads them in the statement that locks its invitations, no
    round trip of their own."""
    return ArraySubquery(
        Sighting.objects.filter(
            inviter_id=inviter,
            step__in=[Sighting.Step.INVITER_PAGE, Sighting.Step.PHONE_VERIFIED],
        )
        .order_by()
        .values(
            row=JSONObject(
                step="step", phone="phone", address="address", device="device", at="seen_at"
            )
        )
    )


# The reasons as the grant stores them (in English, as every hold reason: the record), and as
# staff read them (``shown``, in the admin's language).
REASONS = {
    "same_device": "verified from the inviter's own device",
    "same_address": "verified from the inviter's address",
    "crowd": "one device or address verified {count} of the inviter's friends within {hours} h",
    "ring": "the friend's own invitations lead back to the inviter",
    "at_minimum": "first deposit of {deposit} yuan, at the campaign's minimum of {minimum}",
}
SHOWN = {
    "same_device": gettext_lazy("verified from the inviter's own device"),
    "same_address": gettext_lazy("verified from the inviter's address"),
    "crowd": gettext_lazy(
        "one device or address verified %(count)s of the inviter's friends within %(hours)s h"
    ),
    "ring": gettext_lazy("the friend's own invitations lead back to the inviter"),
    "at_minimum": gettext_lazy(
        "first deposit of %(deposit)s yuan, at the campaign's minimum of %(minimum)s"
    ),
}
HELD_PREFIX = "fraud signals, score "  # every hold reason the score writes starts so
HELD = HELD_PREFIX + "{points}: "
_HELD = re.compile(re.escape(HELD_PREFIX) + r"(\d+): (.*)", re.DOTALL)
_PARTS = {
    name: re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", re.escape(text)))
    for name, text in REASONS.items()
}


def shown(stored: str) -> str | None:
    """A fraud hold reason (``Score.hold_reason``) in the reader's language; None for any other
    hold reason. A reason it does not know (cut at the column's length) stays as stored."""
    held = _HELD.fullmatch(stored)
    if held is None:
        return None
    parts = [_shown_part(part) for part in held.group(2).split("; ")]
    return gettext("fraud signals, score %(points)s: %(reasons)s") % {
        "points": held.group(1),
        "reasons": gettext("; ").join(parts),
    }


def _shown_part(part: str) -> str:
    for name, pattern in _PARTS.items():
        if match := pattern.fullmatch(part):
            return str(SHOWN[name]) % match.groupdict()
    return part


@dataclass(frozen=True)
class Candidate:
    key: int  # the invitation's id
    inviter_id: int
    phone: str
    in_ring: bool = False
    first_deposit: Decimal | None = None  # the friend's, and the campaign's minimum (or None)
    min_deposit: Decimal | None = None


@dataclass(frozen=True)
class Score:
    points: int
    reasons: list[str]

    def hold_reason(self) -> str:
        return HELD.format(points=self.points) + "; ".join(self.reasons)


def scores(candidates: list[Candidate], sightings: dict[int, list]) -> dict[int, Score]:
    """The candidates whose score reaches ``hold_at``, by key; ``sightings``: each inviter's,
    as ``sightings_of`` reads them (JSON objects, or their text)."""
    weights = settings.FRAUD_SIGNALS
    window = timedelta(hours=weights["crowd_hours"])
    own = defaultdict(set)  # inviter: their devices and addresses
    proofs = defaultdict(list)  # inviter: (phone, address, device, seen_at)
    for inviter_id, rows in sightings.items():
        for row in rows or []:
            seen = json.loads(row) if isinstance(row, str) else row
            if seen["step"] == Sighting.Step.INVITER_PAGE:
                own[inviter_id] |= {("device", seen["device"]), ("address", seen["address"])}
                own[inviter_id].discard(("address", ""))
            else:
                at = datetime.fromisoformat(seen["at"])
                proofs[inviter_id].append((seen["phone"], seen["address"], seen["device"], at))
    result = {}
    for candidate in candidates:
        found = _signals(candidate, own[candidate.inviter_id], proofs[candidate.inviter_id], window)
        points = sum(weights[name] for name, _ in found)
        if points >= weights["hold_at"]:
            result[candidate.key] = Score(points, [reason for _, reason in found])
    return result


def _signals(candidate: Candidate, own: set, proofs: list, window: timedelta) -> list:
    weights = settings.FRAUD_SIGNALS
    phone = digest("phone", candidate.phone)
    mine = [proof for proof in proofs if proof[0] == phone]
    found = []
    if any(("device", device) in own for _, _, device, _ in mine):
        found.append(("same_device", REASONS["same_device"]))
    if any(address and ("address", address) in own for _, address, _, _ in mine):
        found.append(("same_address", REASONS["same_address"]))
    crowd = 0
    for _, address, device, seen_at in mine:
        near = [p for p in proofs if abs(p[3] - seen_at) <= window]
        for index, value in ((2, device), (1, address)):
            if value:
                crowd = max(crowd, len({p[0] for p in near if p[index] == value}))
    if crowd >= weights["crowd_size"]:
        hours = weights["crowd_hours"]
        found.append(("crowd", REASONS["crowd"].format(count=crowd, hours=hours)))
    if candidate.in_ring:
        found.append(("ring", REASONS["ring"]))
    deposit, minimum = candidate.first_deposit, candidate.min_deposit
    if (
        deposit is not None
        and minimum is not None
        and deposit * 100 <= minimum * (100 + weights["minimum_margin"])
    ):
        reason = REASONS["at_minimum"].format(deposit=deposit, minimum=minimum)
        found.append(("at_minimum", reason))
    return found
