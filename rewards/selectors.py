from django.db.models import QuerySet, Sum

from invitations.models import Customer

from .models import Grant


def points_balance(customer: Customer) -> int:
    return customer.points_entries.aggregate(total=Sum("amount"))["total"] or 0


def grants_of(customer: Customer) -> QuerySet[Grant]:
    """Only this customer's grants (invariant 10)."""
    return Grant.objects.filter(inviter=customer).select_related(
        "campaign__card_kind", "card", "invitation"
    )
