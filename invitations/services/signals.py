"""Signs that an invitee is opening an account now: each starts a burst of checks (see
``invitations.scheduling``), so the inviter is rewarded minutes after the opening instead of at
the next routine check."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, When
from django.db.models.functions import Least

from ..exceptions import CheckTooSoon
from ..models import Customer, Invitation
from ..scheduling import Policy, Priority
from .polling import database_now


def _start_bursts(invitations, now: datetime) -> int:
    """Mark pending invitations as signalled at ``now`` and bring their next check forward to
    the burst's first one. A row on lease (being looked up right now) keeps its lease: the
    answer it gets is scheduled from the signal. Returns how many were marked."""
    first = now + Policy.from_settings().burst[0]
    return invitations.filter(status=Invitation.Status.PENDING).update(
        signal_at=now,
        check_priority=Priority.SIGNAL,
        next_check_at=Case(
            When(lease_token__isnull=True, then=Least(F("next_check_at"), first)),
            default=F("next_check_at"),
        ),
    )


# A burst runs for half an hour: clicking the link again within minutes starts no new one (a
# page reloaded in a loop must not turn into a lookup a minute).
RESIGNAL_AFTER = timedelta(minutes=10)


@transaction.atomic
def invitee_opening_account(invitation: Invitation) -> None:
    """The invitee followed our "open your account" link."""
    now = database_now()
    _start_bursts(
        Invitation.objects.filter(pk=invitation.pk).filter(
            Q(signal_at__isnull=True) | Q(signal_at__lte=now - RESIGNAL_AFTER)
        ),
        now,
    )


@transaction.atomic
def check_friends_now(customer: Customer) -> int:
    """The inviter asked us to check their friends now: a burst for each pending invitation.
    Allowed once per ``CHECK_NOW_COOLDOWN_MINUTES``; raises ``CheckTooSoon`` (with the time it
    can be asked again) before that. Returns how many invitations will be checked."""
    now = database_now()
    cooldown = timedelta(minutes=settings.CHECK_NOW_COOLDOWN_MINUTES)
    allowed = Customer.objects.filter(pk=customer.pk).filter(
        Q(checks_requested_at__isnull=True) | Q(checks_requested_at__lte=now - cooldown)
    )
    if not allowed.update(checks_requested_at=now):  # a conditional update: two clicks, one burst
        last = Customer.objects.values_list("checks_requested_at", flat=True).get(pk=customer.pk)
        raise CheckTooSoon(last + cooldown)
    customer.checks_requested_at = now
    return _start_bursts(Invitation.objects.filter(inviter=customer), now)
