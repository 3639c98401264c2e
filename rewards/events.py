"""Every event of a grant or an anomaly, one function per kind (``GrantEvent.Action``,
``AnomalyEvent.Action``). Called inside the service's transaction; never from a view, an admin
class or a signal. A new grant's first events (created, held, issued), on both grant paths, are
written with the grant in one statement by ``rewards.batch_writes``."""

from core.actors import SystemActor

from .models import AnomalyEvent, Grant, GrantEvent


def _grant_event(grant: Grant, action: str, **fields) -> GrantEvent:
    return GrantEvent.record(action, grant=grant, **fields)


def grant_created_event(
    grant: Grant, *, actor=None, actor_label: str = "", reason: str = ""
) -> GrantEvent:
    return _grant_event(
        grant, GrantEvent.Action.CREATED, actor=actor, actor_label=actor_label, reason=reason
    )


def grant_issued_event(grant: Grant, *, card, actor=None, actor_label: str = "") -> GrantEvent:
    return _grant_event(
        grant, GrantEvent.Action.ISSUED, card=card, actor=actor, actor_label=actor_label
    )


def grant_released_event(grant: Grant, *, actor, reason: str) -> GrantEvent:
    return _grant_event(grant, GrantEvent.Action.RELEASED, actor=actor, reason=reason)


def grant_revealed_event(grant: Grant, *, customer_user) -> GrantEvent:
    return _grant_event(grant, GrantEvent.Action.REVEALED, actor=customer_user, card=grant.card)


def grant_reported_event(grant: Grant, *, customer_user, note: str) -> GrantEvent:
    return _grant_event(
        grant, GrantEvent.Action.REPORTED, actor=customer_user, reason=note, card=grant.card
    )


def grant_voided_event(grant: Grant, *, actor, reason: str) -> GrantEvent:
    return _grant_event(
        grant, GrantEvent.Action.VOIDED, actor=actor, reason=reason, card=grant.card
    )


def grant_reissued_event(grant: Grant, *, actor, reason: str, replacement: Grant) -> GrantEvent:
    return _grant_event(
        grant,
        GrantEvent.Action.REISSUED,
        actor=actor,
        reason=f"replaced by {replacement.grant_no}: {reason}",
        card=grant.card,
    )


def grant_granted_again_event(
    grant: Grant, *, actor, reason: str, replacement: Grant
) -> GrantEvent:
    return _grant_event(
        grant,
        GrantEvent.Action.GRANTED_AGAIN,
        actor=actor,
        reason=f"granted again as {replacement.grant_no}: {reason}",
    )


def grant_over_budget_granted_event(grant: Grant, *, actor, reason: str) -> GrantEvent:
    return _grant_event(grant, GrantEvent.Action.OVER_BUDGET_GRANTED, actor=actor, reason=reason)


def anomaly_reviewed_event(anomaly, *, status: str, actor, note: str) -> AnomalyEvent:
    return AnomalyEvent.record(status, anomaly=anomaly, actor=actor, reason=note)


def anomaly_closed_automatically_event(anomaly, *, note: str) -> AnomalyEvent:
    return AnomalyEvent.record(
        AnomalyEvent.Action.CLOSED_AUTOMATICALLY,
        anomaly=anomaly,
        actor_label=SystemActor.DETECTION,
        reason=note,
    )


def anomaly_paused_campaign_event(anomaly, *, campaign) -> AnomalyEvent:
    return AnomalyEvent.record(
        AnomalyEvent.Action.CAMPAIGN_PAUSED,
        anomaly=anomaly,
        actor_label=SystemActor.DETECTION,
        reason=f"campaign #{campaign.pk} {campaign.name} paused: new grants are held",
    )
