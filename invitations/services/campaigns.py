"""Switches staff (or anomaly detection) turn on campaigns and customers: each with a reason, each
recorded as an event. While a campaign is paused or flagged, or an inviter is flagged, new
grants are held for review (fail closed); turning a switch off does not release them: a reviewer
does."""

from django.db import transaction

from cardpool.exceptions import required_reason

from ..events import (
    campaign_flagged_event,
    campaign_paused_event,
    campaign_resumed_event,
    campaign_unflagged_event,
    customer_flagged_event,
    customer_unflagged_event,
)
from ..models import Campaign, Customer


def _switch(queryset, pk: int, field: str, value: bool, reason: str, event, **who) -> object:
    """Lock the row; if ``field`` differs, change it and record ``event`` with the reason and
    ``who`` (actor, actor_label)."""
    reason = required_reason(reason)
    locked = queryset.select_for_update().get(pk=pk)
    if getattr(locked, field) != value:
        setattr(locked, field, value)
        locked.save(update_fields=[field])
        event(locked, reason=reason, **who)
    return locked


@transaction.atomic
def set_campaign_paused(
    campaign: Campaign, *, is_paused: bool, reason: str, actor=None, actor_label: str = ""
) -> Campaign:
    """Pause or resume a campaign. While paused, no invitation is accepted and new grants are
    held. Raises ``ReasonRequired``."""
    event = campaign_paused_event if is_paused else campaign_resumed_event
    return _switch(
        Campaign.objects,
        campaign.pk,
        "is_paused",
        is_paused,
        reason,
        event,
        actor=actor,
        actor_label=actor_label,
    )


@transaction.atomic
def set_campaign_flagged(
    campaign: Campaign, *, is_flagged: bool, reason: str, actor=None, actor_label: str = ""
) -> Campaign:
    """Flag a campaign for review (its new grants are held) or remove the flag."""
    event = campaign_flagged_event if is_flagged else campaign_unflagged_event
    return _switch(
        Campaign.objects,
        campaign.pk,
        "is_flagged_for_review",
        is_flagged,
        reason,
        event,
        actor=actor,
        actor_label=actor_label,
    )


@transaction.atomic
def set_customer_flagged(
    customer: Customer, *, is_flagged: bool, reason: str, actor=None, actor_label: str = ""
) -> Customer:
    """Flag an inviter for review (their new grants are held) or remove the flag."""
    event = customer_flagged_event if is_flagged else customer_unflagged_event
    return _switch(
        Customer.objects,
        customer.pk,
        "is_flagged_for_review",
        is_flagged,
        reason,
        event,
        actor=actor,
        actor_label=actor_label,
    )
