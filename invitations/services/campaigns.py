"""Changes to campaigns and customers. A started campaign's terms change only with a reason,
recorded with their old and new values. Switches staff (or anomaly detection) turn on campaigns
and customers: each with a reason, each recorded as an event. While a campaign is paused or
flagged, or an inviter is flagged, new grants are held for review (fail closed); turning a switch
off does not release them: a reviewer does."""

from django.db import transaction
from django.utils import timezone

from cardpool.exceptions import KindSwitchedOff
from cardpool.lock_objects import kinds_for_update
from cardpool.models import CardKind
from core.exceptions import required_reason

from .. import ladder
from ..events import (
    campaign_flagged_event,
    campaign_paused_event,
    campaign_resumed_event,
    campaign_terms_changed_event,
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


def _kinds_of(campaign: Campaign, values: dict) -> set[int]:
    """The card kinds a campaign pays in, with ``values`` changed."""

    def value(name):
        return values[name] if name in values else getattr(campaign, name)

    kinds = {step.card_kind_id for step in ladder.steps(value("ladder"))}
    kinds |= {kind.pk for kind in (value("card_kind"), value("friend_card_kind")) if kind}
    return kinds


def _new_kinds(campaign: Campaign, values: dict) -> set[int]:
    """The card kinds ``values`` would make the campaign pay in that it does not yet."""
    return _kinds_of(campaign, values) - _kinds_of(campaign, {})


def _shown(value) -> object:
    """A term's value as the event keeps it (JSON): a card kind by code and face value, a
    ladder as staff write it."""
    if isinstance(value, list):
        codes = dict(CardKind.objects.values_list("pk", "code"))
        return ladder.as_text(value, codes)
    if hasattr(value, "face_value"):
        return f"{value.code} ({value.face_value})"
    if hasattr(value, "tzinfo"):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    return value


@transaction.atomic
def change_campaign(campaign: Campaign, *, values: dict, reason: str = "", actor=None) -> Campaign:
    """Save staff's edit of a campaign (``values``: field name to new value).

    Once the campaign has started, a change of its terms (``Campaign.TERMS``) needs a reason and
    is recorded as a ``terms_changed`` event with each changed term's old and new value. Its
    effect, stated on the campaign's page: grants earned from the event on are paid on the new
    terms; each grant made before keeps the terms stored on it (invariant 17). The campaign row
    is locked, and a grant reads the campaign in the statement that locks its invitation, so
    every grant is earned wholly on the old terms or wholly on the new ones.

    A campaign is never moved onto a card kind that is switched off, for the inviter, the friend
    or a step of its ladder (the kinds are locked, so a switch-off cannot slip in between).
    Raises ``ReasonRequired`` and ``KindSwitchedOff``."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    kind = values.get("card_kind")
    for new_kind in kinds_for_update().filter(pk__in=sorted(_new_kinds(locked, values))):
        if not new_kind.is_active:
            raise KindSwitchedOff(new_kind.code)
    changed = {
        name: [_shown(getattr(locked, name)), _shown(value)]
        for name, value in values.items()
        if name in Campaign.TERMS and getattr(locked, name) != value
    }
    if "card_kind" in changed and locked.card_kind.face_value != kind.face_value:
        changed["face_value"] = [str(locked.card_kind.face_value), str(kind.face_value)]
    started = locked.starts_at <= timezone.now()
    if changed and started:
        reason = required_reason(reason)
    for name, value in values.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(values))
    if changed and started:
        campaign_terms_changed_event(locked, changes=changed, reason=reason, actor=actor)
    return locked
