"""Switching a card kind off and on, with a reason, recorded.

A kind switched off has one meaning on every path: no card of it is handed out (the one
definition of an allocatable card, ``cardpool.lock_objects.next_available_cards``, excludes it,
so the grant path, the fulfilment schedule, a release and a reissue all leave it alone), no batch
of it is imported (admin or command, ``cardpool.services.uploads``) and no campaign is moved onto
it (``invitations.services.campaigns.change_campaign``). So that nothing waits for a card that
will never come, it is switched off only when nothing can earn it any more."""

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cardpool.events import card_kind_switched_event
from cardpool.lock_objects import kinds_for_update
from cardpool.models import CardKind, CardKindEvent
from core.exceptions import required_reason
from invitations.models import Campaign, Invitation

from ..exceptions import KindInUse
from ..models import Grant


def campaigns_paying(kind: CardKind) -> QuerySet[Campaign]:
    """The campaigns that pay in ``kind``: the inviter's card, the friend's, or a step of the
    ladder."""
    return Campaign.objects.filter(
        Q(card_kind=kind) | Q(friend_card_kind=kind) | Q(ladder__contains=[{"card_kind": kind.pk}])
    )


def campaigns_earning(kind: CardKind) -> list[str]:
    """The campaigns whose grants would be of ``kind``: not over yet, or with invitations still
    to be decided or granted."""
    paying = campaigns_paying(kind)
    undecided = Invitation.objects.filter(
        campaign_id__in=paying.values("pk"),
        status__in=[Invitation.Status.PENDING, Invitation.Status.QUALIFIED],
        grants__isnull=True,
        unrewarded__isnull=True,
    )
    earning = paying.filter(pk__in=undecided.values("campaign_id")) | paying.filter(
        ends_at__gt=timezone.now()
    )
    return list(earning.order_by("name").values_list("name", flat=True).distinct()[:5])


@transaction.atomic
def switch_kind(kind: CardKind, *, is_active: bool, reason: str, actor) -> CardKind:
    """Switch a card kind off or on. Switching off is refused (``KindInUse``) while a campaign can
    still earn rewards of it or rewards wait for it or are held; the kind's row is locked, so a
    campaign cannot be moved onto it meanwhile. Raises ``ReasonRequired``."""
    reason = required_reason(reason)
    locked = kinds_for_update().get(pk=kind.pk)
    if locked.is_active == is_active:
        return locked
    if not is_active:
        campaigns = campaigns_earning(locked)
        waiting = Grant.objects.filter(
            card_kind=locked, status__in=[Grant.Status.PENDING_STOCK, Grant.Status.HELD]
        ).count()
        if campaigns or waiting:
            raise KindInUse(locked, campaigns, waiting)
    locked.is_active = is_active
    locked.save(update_fields=["is_active"])
    action = CardKindEvent.Action.SWITCHED_ON if is_active else CardKindEvent.Action.SWITCHED_OFF
    card_kind_switched_event(locked, action=action, reason=reason, actor=actor)
    return locked
