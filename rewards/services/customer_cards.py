"""What a customer does with their own rewards."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from cardpool.services import reveal_card_to_owner
from core.throttles import rate
from invitations.models import Customer

from ..events import grant_reported_event, grant_revealed_event
from ..exceptions import (
    CardAlreadyReported,
    GrantNotInStatus,
    NotYourGrant,
    PointsOnly,
    TooManyReports,
)
from ..lock_objects import grants_for_update, inviters_for_update
from ..models import Anomaly, CardProblem, Grant, GrantEvent
from ..selectors import card_report_open
from .alerts import alert_reviewers
from .anomalies import raise_anomaly

CARD_REPORTED = _("Customer reports a problem with the card of grant {grant}: {problem}. {note}")


def _own_issued_grant(grant: Grant, customer: Customer) -> Grant:
    locked = grants_for_update().get(pk=grant.pk)
    if locked.inviter_id != customer.pk:
        raise NotYourGrant()  # invariant 10
    if locked.status != Grant.Status.ISSUED:
        raise GrantNotInStatus(locked, Grant.Status.ISSUED)
    if locked.card_id is None:
        raise PointsOnly(locked)
    return locked


@transaction.atomic(durable=True)
def reveal_grant_card(grant: Grant, customer: Customer) -> tuple[str, str]:
    """The card number and password of the customer's own issued grant; every reveal is
    recorded and the first one timed. Raises ``NotYourGrant`` and ``GrantNotInStatus``."""
    locked = _own_issued_grant(grant, customer)
    if locked.first_revealed_at is None:
        locked.first_revealed_at = timezone.now()
        locked.save(update_fields=["first_revealed_at"])
    grant_revealed_event(locked, customer_user=customer.user)
    return reveal_card_to_owner(locked.card, owner_user=customer.user)


@transaction.atomic(durable=True)
def report_card_problem(
    grant: Grant, customer: Customer, note: str = "", problem: str = CardProblem.ACTIVATED
) -> Anomaly:
    """The customer says the card does not work: a critical anomaly for staff and an event.

    One open report per card: while it is being checked, another report of the same card
    records nothing and raises ``CardAlreadyReported`` (a double tap, or a hundred). At most
    ``card_reports_per_customer`` reports (``core.throttles``: 5 in 24 hours) per customer,
    across their cards (``TooManyReports``). The customer's row is locked first (lock order:
    inviter, then grant), so concurrent reports of one customer are counted one after the
    other. Also raises ``NotYourGrant`` and ``GrantNotInStatus``."""
    list(inviters_for_update().filter(pk=customer.pk).values_list("pk"))
    locked = _own_issued_grant(grant, customer)
    if card_report_open(locked):
        raise CardAlreadyReported(locked)
    limit = rate("card_reports_per_customer")
    reported = GrantEvent.objects.filter(
        grant__inviter=customer,
        action=GrantEvent.Action.REPORTED,
        created_at__gte=timezone.now() - timedelta(seconds=limit.seconds),
    ).count()
    if reported >= limit.count:
        raise TooManyReports(reported)
    if problem not in CardProblem.values:
        problem = CardProblem.OTHER
    note = note.strip()[:500]
    grant_reported_event(locked, customer_user=customer.user, note=f"{problem}: {note}")
    with translation.override(settings.LANGUAGE_CODE):  # for staff, whatever the customer reads
        message = CARD_REPORTED.format(
            grant=locked.grant_no, problem=CardProblem(problem).label, note=note or "-"
        )
    anomaly = raise_anomaly(
        "card_reported",
        locked.grant_no,
        message,
        severity=Anomaly.Severity.CRITICAL,
        grant=locked,
    )
    alert_reviewers([anomaly.pk])  # on the outbox, in this transaction: sent by the cluster
    return anomaly
