from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError

NOT_QUALIFIED = _("Invitation #{invitation} is {status}, not qualified: nothing to grant.")
GRANT_NOT_IN_STATUS = _("Grant {grant} is {status}; this needs a grant that is {expected}.")
NOT_YOUR_GRANT = _("This reward is not yours.")
NOT_GRANTED_AGAIN = _("Grant {grant} cannot be granted again: {why}")
CARD_ALREADY_REPORTED = _(
    "You have already reported the card of reward {grant}. We are checking it and will replace "
    "it if it does not work; the outcome will show on My rewards."
)
TOO_MANY_REPORTS = _(
    "You have reported {count} cards in the last 24 hours, the most we take in a day. We are "
    "checking them; please report another card tomorrow."
)


def _status_label(status: str) -> str:
    from .models import Grant

    return str(Grant.Status(status).label) if status in Grant.Status.values else status


class RewardError(DomainError):
    pass


class NotQualified(RewardError):
    message = NOT_QUALIFIED

    def __init__(self, invitation):
        super().__init__(invitation=invitation.pk, status=invitation.status)


class GrantNotInStatus(RewardError):
    message = GRANT_NOT_IN_STATUS

    def __init__(self, grant, expected: str):
        super().__init__(
            grant=grant.grant_no,
            status=_status_label(grant.status),
            expected=_status_label(expected),
        )


class NotYourGrant(RewardError):
    message = NOT_YOUR_GRANT


class NotGrantedAgain(RewardError):
    REPLACED = _("it was reissued or granted again already.")
    LIVE_GRANT = _("its invitation has a live grant.")
    NOT_QUALIFIED = _("its invitation is no longer qualified.")
    OVER_CAP = _("the inviter has reached the campaign's cap since.")

    message = NOT_GRANTED_AGAIN

    def __init__(self, grant, why):
        super().__init__(grant=grant.grant_no, why=why)


class CardAlreadyReported(RewardError):
    """The card's report is still being checked: nothing more is recorded."""

    message = CARD_ALREADY_REPORTED

    def __init__(self, grant):
        super().__init__(grant=grant.grant_no)


class TooManyReports(RewardError):
    message = TOO_MANY_REPORTS

    def __init__(self, count: int):
        super().__init__(count=count)


KIND_IN_USE = _(
    "Card kind {kind} is still in use: {campaigns} can still earn rewards of it and {waiting} "
    "rewards wait for it or are held. Move those campaigns to another kind (with a reason) and "
    "those rewards (action “Replace in another card kind”) first."
)


class KindInUse(RewardError):
    message = KIND_IN_USE

    def __init__(self, kind, campaigns: list[str], waiting: int):
        names = "、".join(campaigns) if campaigns else "0"
        super().__init__(kind=kind.code, campaigns=names, waiting=waiting)


SAME_KIND = _(
    "Grant {grant} is already of card kind {kind}: use “Reissue” for a new card of the same kind."
)


POINTS_ONLY = _("Reward {grant} pays points only: it has no card to show, report or replace.")


class PointsOnly(RewardError):
    message = POINTS_ONLY

    def __init__(self, grant):
        super().__init__(grant=grant.grant_no)


class SameKind(RewardError):
    message = SAME_KIND

    def __init__(self, grant, kind):
        super().__init__(grant=grant.grant_no, kind=kind.code)


STILL_OVER_BUDGET = _(
    "Invitation #{invitation} is still over its campaign's budget ({budget} yuan, {spent} spent, "
    "this reward {value}): raise the budget on the campaign's page first (with a reason)."
)
OVER_TODAYS_LIMIT = _(
    "Invitation #{invitation} is over its campaign's limit for today ({budget} yuan, {spent} "
    "spent today, this reward {value}): try again tomorrow, or raise the daily limit first."
)
NOT_OVER_BUDGET = _("Invitation #{invitation} is not recorded over its budget (granted already?).")


class StillOverBudget(RewardError):
    message = STILL_OVER_BUDGET

    def __init__(self, invitation_id: int, budget, spent, value, *, today: bool = False):
        if today:
            self.message = OVER_TODAYS_LIMIT
        super().__init__(invitation=invitation_id, budget=budget, spent=spent, value=value)


class NotOverBudget(RewardError):
    message = NOT_OVER_BUDGET

    def __init__(self, invitation_id: int):
        super().__init__(invitation=invitation_id)
