from django.db.models import QuerySet
from django.utils import timezone

from .models import Campaign, Customer, Invitation


def running_campaigns(now=None) -> QuerySet[Campaign]:
    now = now or timezone.now()
    return Campaign.objects.filter(starts_at__lte=now, ends_at__gt=now, is_paused=False)


def current_campaign(now=None) -> Campaign | None:
    """The campaign running now; when several run, the one that started last."""
    return running_campaigns(now).order_by("-starts_at", "-id").first()


def campaign_state(campaign: Campaign, now=None) -> str:
    now = now or timezone.now()
    if campaign.is_paused:
        return "paused"
    if now < campaign.starts_at:
        return "not started yet"
    if now >= campaign.ends_at:
        return "over"
    return "running"


def customer_by_invite_code(code: str) -> Customer | None:
    return Customer.objects.filter(invite_code=code.strip().upper()).first()


def invitations_of(customer: Customer) -> QuerySet[Invitation]:
    """Only this customer's invitations (invariant 10)."""
    return Invitation.objects.filter(inviter=customer).select_related("campaign")
