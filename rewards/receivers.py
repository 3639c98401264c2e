"""The rewards app's answers to what the apps below it announce (connected by
``RewardsConfig.ready``)."""

from django.dispatch import receiver

from cardpool.signals import cards_imported
from invitations.signals import invitation_qualified

from .services import fulfil_pending_grants, grant_reward

GRANT_ON_QUALIFICATION = "rewards.grant_on_qualification"


@receiver(invitation_qualified, dispatch_uid=GRANT_ON_QUALIFICATION)
def grant_on_qualification(sender, invitation, **kwargs) -> None:
    """In the qualifying transaction: the grant commits with the qualification or neither
    does."""
    grant_reward(invitation)


@receiver(cards_imported, dispatch_uid="rewards.issue_on_import")
def issue_on_import(sender, kind, **kwargs) -> None:
    fulfil_pending_grants(kind)
