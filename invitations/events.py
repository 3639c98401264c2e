"""Every event of a campaign, a customer or an invitation, one function per kind
(``CampaignEvent.Action``, ``CustomerEvent.Action``, ``InvitationEvent.Action``). Called inside
the service's transaction; never from a view, an admin class or a signal."""

from core.actors import SystemActor

from .models import Campaign, CampaignEvent, Customer, CustomerEvent, Invitation, InvitationEvent


def _campaign_event(campaign: Campaign, action: str, **fields) -> CampaignEvent:
    return CampaignEvent.record(action, campaign=campaign, **fields)


def campaign_paused_event(campaign, *, reason, actor=None, actor_label="") -> CampaignEvent:
    return _campaign_event(
        campaign, CampaignEvent.Action.PAUSED, reason=reason, actor=actor, actor_label=actor_label
    )


def campaign_resumed_event(campaign, *, reason, actor=None, actor_label="") -> CampaignEvent:
    return _campaign_event(
        campaign, CampaignEvent.Action.RESUMED, reason=reason, actor=actor, actor_label=actor_label
    )


def campaign_flagged_event(campaign, *, reason, actor=None, actor_label="") -> CampaignEvent:
    return _campaign_event(
        campaign, CampaignEvent.Action.FLAGGED, reason=reason, actor=actor, actor_label=actor_label
    )


def campaign_unflagged_event(campaign, *, reason, actor=None, actor_label="") -> CampaignEvent:
    return _campaign_event(
        campaign,
        CampaignEvent.Action.UNFLAGGED,
        reason=reason,
        actor=actor,
        actor_label=actor_label,
    )


def campaign_terms_changed_event(campaign, *, changes: dict, reason, actor) -> CampaignEvent:
    """``changes``: each changed term's [old, new] value."""
    return _campaign_event(
        campaign,
        CampaignEvent.Action.TERMS_CHANGED,
        reason=reason,
        actor=actor,
        details={"changes": changes},
    )


def customer_flagged_event(customer: Customer, *, reason, actor=None, actor_label=""):
    return CustomerEvent.record(
        CustomerEvent.Action.FLAGGED,
        customer=customer,
        reason=reason,
        actor=actor,
        actor_label=actor_label,
    )


def customer_unflagged_event(customer: Customer, *, reason, actor=None, actor_label=""):
    return CustomerEvent.record(
        CustomerEvent.Action.UNFLAGGED,
        customer=customer,
        reason=reason,
        actor=actor,
        actor_label=actor_label,
    )


def invitation_decided_event(invitation: Invitation, *, reason: str = "") -> InvitationEvent:
    """The poller decided (the invitation's new status), with the upstream's answer summarized:
    whether an account was opened, its id, when and through which channel; no phone."""
    opened_at = invitation.account_opened_at
    return InvitationEvent.record(
        invitation.status,
        invitation=invitation,
        actor_label=SystemActor.POLLER,
        reason=reason,
        details={
            "opened": opened_at is not None,
            "account_id": invitation.external_account_id,
            "opened_at": opened_at.isoformat() if opened_at else None,
            "channel": invitation.account_channel or None,
        },
    )


def invitation_attributed_event(invitation: Invitation, *, signed_up_at, reason, actor):
    return InvitationEvent.record(
        InvitationEvent.Action.ATTRIBUTED,
        invitation=invitation,
        actor=actor,
        reason=reason,
        details={"signed_up_at": signed_up_at.isoformat()},
    )
