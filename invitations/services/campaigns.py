from django.db import transaction

from cardpool.exceptions import ReasonRequired

from ..models import Campaign, CampaignEvent


@transaction.atomic
def set_campaign_paused(
    campaign: Campaign, *, is_paused: bool, reason: str, actor=None, actor_label: str = ""
) -> Campaign:
    """Pause or resume a campaign, recording who and why. While paused, no invitation is
    accepted and new grants are held for review (fail closed); resuming does not release them: a
    reviewer does. Raises ``ReasonRequired``."""
    reason = reason.strip()
    if not reason:
        raise ReasonRequired()
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.is_paused != is_paused:
        locked.is_paused = is_paused
        locked.save(update_fields=["is_paused"])
        CampaignEvent.objects.create(
            campaign=locked,
            action=CampaignEvent.Action.PAUSED if is_paused else CampaignEvent.Action.RESUMED,
            actor=actor,
            actor_label=actor_label,
            reason=reason,
        )
    return locked
