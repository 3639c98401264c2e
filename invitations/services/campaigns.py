from django.db import transaction

from ..models import Campaign


@transaction.atomic
def set_campaign_paused(campaign: Campaign, *, is_paused: bool) -> Campaign:
    """Pause or resume a campaign. While paused, no invitation is accepted and new grants are
    held for review (fail closed); resuming does not release them: a reviewer does."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    locked.is_paused = is_paused
    locked.save(update_fields=["is_paused"])
    return locked
