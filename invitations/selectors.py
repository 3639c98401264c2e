from django.db.models import QuerySet
from django.utils import timezone

from .models import Campaign, CampaignState, Customer, Invitation


def running_campaigns(now=None) -> QuerySet[Campaign]:
    return Campaign.objects.running(now or timezone.now())


def current_campaign(now=None) -> Campaign | None:
    """The campaign running now; when several run, the one that started last."""
    return running_campaigns(now).order_by("-starts_at", "-id").first()


def campaign_state(campaign: Campaign, now=None) -> CampaignState:
    return campaign.state(now or timezone.now())


def customer_by_invite_code(code: str) -> Customer | None:
    return Customer.objects.filter(invite_code=code.strip().upper()).first()


def invitations_of(customer: Customer) -> QuerySet[Invitation]:
    """Only this customer's invitations (invariant 10)."""
    return Invitation.objects.filter(inviter=customer).select_related("campaign")
