from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import required_reason

from ..events import invitation_attributed_event
from ..exceptions import (
    AlreadyACustomer,
    CampaignNotRunning,
    DuplicateInvitation,
    NoRunningCampaign,
    SelfInvitation,
    SignupTimeOutsideCampaign,
)
from ..models import Campaign, CampaignState, Customer, Invitation
from ..phones import erased_phone, normalize_phone
from ..selectors import campaign_state, current_campaign

FIRST_CHECK_AFTER = timedelta(minutes=1)


def create_invitation(
    inviter: Customer,
    phone: str,
    channel: str = Invitation.Channel.LINK,
    campaign: Campaign | None = None,
    consented_at=None,
) -> Invitation:
    """Record that ``inviter`` invited the owner of ``phone`` (who agreed at ``consented_at`` to
    the use of their number); the poller checks it from then on.

    Raises ``InvalidPhone``, ``SelfInvitation``, ``NoRunningCampaign``, ``CampaignNotRunning``,
    ``AlreadyACustomer`` and ``DuplicateInvitation`` (the first valid invitation of a phone in a
    campaign wins, by a unique constraint, even when two arrive at the same moment).
    """
    invitee_phone = normalize_phone(phone)
    if invitee_phone == inviter.phone:
        raise SelfInvitation()
    now = timezone.now()
    if campaign is None:
        campaign = current_campaign(now)
        if campaign is None:
            raise NoRunningCampaign()
    state = campaign_state(campaign, now)
    if state != CampaignState.RUNNING:
        raise CampaignNotRunning(campaign, state)
    if Customer.objects.filter(phone=invitee_phone).exists():
        raise AlreadyACustomer()
    erased = erased_phone(invitee_phone)
    if Invitation.objects.filter(campaign=campaign, invitee_phone=erased).exists():
        raise DuplicateInvitation()  # invited before in this campaign, the number since erased
    if channel not in Invitation.Channel.values:
        channel = Invitation.Channel.LINK
    try:
        with transaction.atomic():
            return Invitation.objects.create(
                campaign=campaign,
                inviter=inviter,
                invitee_phone=invitee_phone,
                channel=channel,
                qualify_by=now + timedelta(days=campaign.qualification_days),
                next_check_at=now + FIRST_CHECK_AFTER,
                consented_at=consented_at,
            )
    except IntegrityError:
        if Invitation.objects.filter(campaign=campaign, invitee_phone=invitee_phone).exists():
            raise DuplicateInvitation() from None
        raise


@transaction.atomic(durable=True)
def attribute_invitation(
    inviter: Customer,
    phone: str,
    *,
    campaign: Campaign,
    signed_up_at,
    reason: str,
    actor,
) -> Invitation:
    """A reviewer attaches a sign-up whose link to its inviter was lost: the invitation is made
    as if the invitee had followed the link at ``signed_up_at`` (so an account opened since then
    counts), then goes through the normal refusals of ``create_invitation`` and the poller's
    checks. Never a direct grant. Raises ``ReasonRequired``, ``SignupTimeOutsideCampaign`` and
    the refusals of ``create_invitation``."""
    reason = required_reason(reason)
    if not campaign.starts_at <= signed_up_at <= min(timezone.now(), campaign.ends_at):
        raise SignupTimeOutsideCampaign(campaign)
    invitation = create_invitation(inviter, phone, Invitation.Channel.STAFF, campaign=campaign)
    invitation.invited_at = signed_up_at
    invitation.qualify_by = signed_up_at + timedelta(days=campaign.qualification_days)
    invitation.next_check_at = timezone.now()  # look it up at the next poll
    invitation.save(update_fields=["invited_at", "qualify_by", "next_check_at"])
    invitation_attributed_event(invitation, signed_up_at=signed_up_at, reason=reason, actor=actor)
    return invitation
