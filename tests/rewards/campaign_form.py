"""The admin's campaign form, posted as staff fill it in."""

from django.urls import reverse
from django.utils import timezone

from cardpool.models import CardKind
from invitations import ladder
from invitations.models import Campaign


def edit(client, campaign: Campaign, **changes):
    """Post the admin's campaign form as staff fill it in, with ``changes``: times as the widget
    shows them, to the minute."""
    local = timezone.localtime
    form = {
        "name": campaign.name,
        "starts_at_0": local(campaign.starts_at).strftime("%Y-%m-%d"),
        "starts_at_1": local(campaign.starts_at).strftime("%H:%M"),
        "ends_at_0": local(campaign.ends_at).strftime("%Y-%m-%d"),
        "ends_at_1": local(campaign.ends_at).strftime("%H:%M"),
        "qualification_days": campaign.qualification_days,
        "card_kind": campaign.card_kind_id,
        "points": campaign.points,
        "max_rewards_per_inviter": campaign.max_rewards_per_inviter,
        "ladder": ladder.as_text(campaign.ladder, dict(CardKind.objects.values_list("pk", "code"))),
        "friend_card_kind": campaign.friend_card_kind_id or "",
        "friend_points": campaign.friend_points,
        "min_deposit": "" if campaign.min_deposit is None else campaign.min_deposit,
        "deposit_days": campaign.deposit_days,
        "budget": "" if campaign.budget is None else campaign.budget,
        "daily_limit": "" if campaign.daily_limit is None else campaign.daily_limit,
        "point_value": campaign.point_value,
        "rules": campaign.rules,
        **changes,
    }
    return client.post(reverse("admin:invitations_campaign_change", args=[campaign.pk]), form)
