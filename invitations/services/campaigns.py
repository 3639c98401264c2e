"""Switches staff (or anomaly detection) turn on campaigns and customers: each with a reason, each
recorded as an event. While a campaign is paused or flagged, or an inviter is flagged, new
grants are held for review (fail closed); turning a switch off does not release them: a reviewer
does."""

from django.db import transaction

from cardpool.exceptions import ReasonRequired

from ..models import Campaign, CampaignEvent, Customer, CustomerEvent


def _switch(queryset, pk: int, field: str, value: bool, reason: str, record) -> object:
    """Lock the row, change ``field`` if it differs and call ``record(locked, reason)``."""
    reason = reason.strip()
    if not reason:
        raise ReasonRequired()
    locked = queryset.select_for_update().get(pk=pk)
    if getattr(locked, field) != value:
        setattr(locked, field, value)
        locked.save(update_fields=[field])
        record(locked, reason)
    return locked


@transaction.atomic
def set_campaign_paused(
    campaign: Campaign, *, is_paused: bool, reason: str, actor=None, actor_label: str = ""
) -> Campaign:
    """Pause or resume a campaign. While paused, no invitation is accepted and new grants are
    held. Raises ``ReasonRequired``."""
    action = CampaignEvent.Action.PAUSED if is_paused else CampaignEvent.Action.RESUMED
    return _switch(
        Campaign.objects,
        campaign.pk,
        "is_paused",
        is_paused,
        reason,
        lambda locked, why: CampaignEvent.objects.create(
            campaign=locked, action=action, actor=actor, actor_label=actor_label, reason=why
        ),
    )


@transaction.atomic
def set_campaign_flagged(
    campaign: Campaign, *, is_flagged: bool, reason: str, actor=None, actor_label: str = ""
) -> Campaign:
    """Flag a campaign for review (its new grants are held) or remove the flag."""
    action = CampaignEvent.Action.FLAGGED if is_flagged else CampaignEvent.Action.UNFLAGGED
    return _switch(
        Campaign.objects,
        campaign.pk,
        "is_flagged_for_review",
        is_flagged,
        reason,
        lambda locked, why: CampaignEvent.objects.create(
            campaign=locked, action=action, actor=actor, actor_label=actor_label, reason=why
        ),
    )


@transaction.atomic
def set_customer_flagged(
    customer: Customer, *, is_flagged: bool, reason: str, actor=None, actor_label: str = ""
) -> Customer:
    """Flag an inviter for review (their new grants are held) or remove the flag."""
    action = CustomerEvent.Action.FLAGGED if is_flagged else CustomerEvent.Action.UNFLAGGED
    return _switch(
        Customer.objects,
        customer.pk,
        "is_flagged_for_review",
        is_flagged,
        reason,
        lambda locked, why: CustomerEvent.objects.create(
            customer=locked, action=action, actor=actor, actor_label=actor_label, reason=why
        ),
    )
