"""Signs that an invitee is opening an account now: each starts a burst of checks (see
``invitations.check_policy``), so the inviter is rewarded minutes after the opening instead of at
the next routine check."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from core.clock import database_now
from core.throttles import rate

from .. import check_policy
from ..check_policy import Facts, Policy, Priority
from ..exceptions import CheckTooSoon
from ..models import Customer, Invitation


def start_bursts(invitations, now: datetime, *, first_check_now: bool = False) -> list[int]:
    """Mark pending invitations as signalled at ``now`` and bring their next check forward to
    the burst's first one (``check_policy.after_signal``, the rule the simulation in
    bench/scheduling.py runs too), or to ``now`` when the signal says an account was opened. A
    row on lease (being looked up right now) keeps its next check: the answer it gets is
    scheduled from the signal. Returns the ids of those marked."""
    policy = Policy.from_settings()
    rows = list(
        invitations.filter(status=Invitation.Status.PENDING)
        .select_for_update()
        .only("pk", "invited_at", "qualify_by", "attempts", "next_check_at", "lease_token")
        .order_by("pk")
    )
    for row in rows:
        facts = Facts(row.invited_at, row.qualify_by, row.attempts, signal_at=now)
        if row.lease_token is None:
            scheduled = now if first_check_now else row.next_check_at
            row.next_check_at = check_policy.after_signal(facts, now, policy, scheduled).at
        row.signal_at, row.check_priority = now, Priority.SIGNAL
    Invitation.objects.bulk_update(rows, ["signal_at", "check_priority", "next_check_at"])
    return [row.pk for row in rows]


# A burst runs for half an hour: clicking the link again within minutes starts no new one (a
# page reloaded in a loop must not turn into a lookup a minute).
RESIGNAL_AFTER = timedelta(minutes=10)


@transaction.atomic
def invitee_opening_account(invitation: Invitation) -> None:
    """The invitee followed our "open your account" link."""
    now = database_now()
    start_bursts(
        Invitation.objects.filter(pk=invitation.pk).filter(
            Q(signal_at__isnull=True) | Q(signal_at__lte=now - RESIGNAL_AFTER)
        ),
        now,
    )


@transaction.atomic
def check_friends_now(customer: Customer) -> int:
    """The inviter asked us to check their friends now: a burst for each pending invitation.
    Allowed once per the ``check_friends_now`` rate (``core.throttles``); raises
    ``CheckTooSoon`` (with the time it can be asked again) before that. Returns how many
    invitations will be checked."""
    now = database_now()
    cooldown = timedelta(seconds=rate("check_friends_now").seconds)
    allowed = Customer.objects.filter(pk=customer.pk).filter(
        Q(checks_requested_at__isnull=True) | Q(checks_requested_at__lte=now - cooldown)
    )
    if not allowed.update(checks_requested_at=now):  # a conditional update: two clicks, one burst
        last = Customer.objects.values_list("checks_requested_at", flat=True).get(pk=customer.pk)
        raise CheckTooSoon(last + cooldown)
    customer.checks_requested_at = now
    return len(start_bursts(Invitation.objects.filter(inviter=customer), now))
