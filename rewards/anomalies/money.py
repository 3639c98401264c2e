"""A campaign's budget (states: each closes by itself once the budget is raised). Staff hear of
a campaign at ``budget_warning_share`` of its budget, and again when the next reward no longer
fits: from then on its qualified invitations are recorded over the budget, to be granted from
the unrewarded invitations' page once the budget is raised."""

from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from invitations import ladder
from invitations.models import Campaign

from ..models import AnomalyRule
from ..selectors import ladder_kinds
from ..spending import grant_value, spent
from .registry import WARNING, Found, once_per_run, rule, setting


def _budgets(now: datetime) -> list[tuple]:
    """Each campaign with a budget still granting (not over), with what it spent and what
    one reward is worth: read once for both rules of a run."""
    return once_per_run("budgets", lambda: list(_read_budgets(now)))


def _read_budgets(now: datetime):
    campaigns = list(
        Campaign.objects.filter(budget__isnull=False, ends_at__gt=now).select_related(
            "card_kind", "friend_card_kind"
        )
    )
    sums = spent({campaign.pk: campaign.point_value for campaign in campaigns}, now)
    faces = {pk: face for pk, (_code, face) in ladder_kinds(c.ladder for c in campaigns).items()}
    for campaign in campaigns:
        so_far = sums[campaign.pk].total if campaign.pk in sums else 0
        yield campaign, so_far, next_reward_value(campaign, faces)


def next_reward_value(campaign: Campaign, faces: dict) -> Decimal:
    """What the campaign's next qualified friend may cost, as the grant path prices it: the
    inviter's reward at its dearest (the campaign's terms or a ladder step; ``faces``: the
    steps' kinds' face values) and the friend's own."""
    worth = campaign.point_value
    inviter = [grant_value(campaign.card_kind.face_value, campaign.points, worth)]
    inviter += [
        grant_value(faces[step.card_kind_id], step.points, worth)
        for step in ladder.steps(campaign.ladder)
        if step.card_kind_id in faces
    ]
    friend = campaign.friend_card_kind
    face = friend.face_value if friend else 0
    return max(inviter) + grant_value(face, campaign.friend_points, worth)


def _found(campaign: Campaign, message: str, so_far, value) -> Found:
    details = {"budget": str(campaign.budget), "spent": str(so_far), "reward": str(value)}
    subject = f"campaign:{campaign.pk}"
    return Found(subject, message, details, "invitations.campaign", campaign.pk, campaign.pk)


@rule(AnomalyRule.BUDGET_SPENT, WARNING, is_state=True)
def budget_spent(now: datetime) -> list[Found]:
    return [
        _found(
            campaign,
            _(
                "Campaign %(campaign)s has spent %(spent)s of its %(budget)s yuan: the next "
                "reward (%(value)s) no longer fits, and friends who open accounts are recorded "
                "over the budget. Raise the budget (with a reason), then grant them from "
                "Unrewarded invitations."
            )
            % {
                "campaign": campaign.name,
                "spent": so_far,
                "budget": campaign.budget,
                "value": value,
            },
            so_far,
            value,
        )
        for campaign, so_far, value in _budgets(now)
        if so_far + value > campaign.budget
    ]


@rule(AnomalyRule.BUDGET_NEARLY_SPENT, WARNING, is_state=True)
def budget_nearly_spent(now: datetime) -> list[Found]:
    share = Decimal(str(setting("budget_warning_share")))
    return [
        _found(
            campaign,
            _("Campaign %(campaign)s has spent %(spent)s of its %(budget)s yuan (%(share)d%%).")
            % {
                "campaign": campaign.name,
                "spent": so_far,
                "budget": campaign.budget,
                "share": int(100 * so_far / campaign.budget) if campaign.budget else 100,
            },
            so_far,
            value,
        )
        for campaign, so_far, value in _budgets(now)
        if so_far >= share * campaign.budget and so_far + value <= campaign.budget
    ]
