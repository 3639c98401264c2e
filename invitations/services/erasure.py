"""Erasing one person on their request (PIPL): what invitations holds about a phone number.
The books stay (invitations, grants, the ledger), with the number replaced by a keyed digest
and the customer's user disabled; codes sent to the number go. ``operations`` calls this with
the other apps' parts."""

from django.contrib.auth import get_user_model
from django.utils import timezone

from ..models import Customer, Invitation, PhoneVerification
from ..phones import erased_phone, normalize_phone


def erase_phone(phone: str) -> dict:
    """Returns what was done, in counts, and the customer's user id (None: not a customer).
    Runs in the caller's transaction. Raises ``InvalidPhone``."""
    phone = normalize_phone(phone)
    digest, now = erased_phone(phone), timezone.now()
    customer = Customer.objects.select_for_update().filter(phone=phone).first()
    user_id = None
    if customer is not None:
        user_id = customer.user_id
        Customer.objects.filter(pk=customer.pk).update(phone=digest, erased_at=now)
        user = get_user_model().objects.get(pk=user_id)
        user.username = f"erased-{user.pk}"
        user.first_name = user.last_name = user.email = ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
    invited = Invitation.objects.filter(invitee_phone=phone).update(
        invitee_phone=digest, phone_erased_at=now
    )
    codes, _ = PhoneVerification.objects.filter(phone=phone).delete()
    return {
        "customer": customer is not None,
        "user_id": user_id,
        "invitations_as_invitee": invited,
        "codes_sent": codes,
    }
