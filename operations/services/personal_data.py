"""A person's request about their data (PIPL), carried out by staff with a reason and recorded
(``DataRequest``): everything kept about a phone number, as a document to hand over, or erased.
Erasing keeps the books (invitations, grants, the points ledger, events) with the number
replaced by a keyed digest and the user disabled; the rest goes. Each app erases its own part."""

from django.db import transaction
from django.utils import timezone

from core.exceptions import required_reason
from core.privacy import mask_phone
from fraud.services import forget_person, sightings_of_person
from invitations.models import Customer, Invitation
from invitations.phones import erased_phone, normalize_phone
from invitations.services.erasure import erase_phone
from notifications import texts
from notifications.models import Message, Preference
from notifications.services import forget_user as forget_messages
from rewards.models import Grant, PointsEntry
from signin.models import AppIdentity
from signin.services import forget_user as forget_identity

from ..models import DataRequest


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def export_person(phone: str, *, reason: str, actor) -> dict:
    """Everything kept about the owner of ``phone``: never a card's number or password, never
    another person's full number. Recorded (without the document). Raises ``InvalidPhone`` and
    ``ReasonRequired``."""
    reason = required_reason(reason)
    phone = normalize_phone(phone)
    customer = Customer.objects.select_related("user").filter(phone=phone).first()
    document = {
        "phone": phone,
        "exported_at": timezone.now().isoformat(),
        "invited_by_others": [
            {
                "campaign": invitation.campaign.name,
                "invited_at": _iso(invitation.invited_at),
                "status": invitation.status,
                "account_opened_at": _iso(invitation.account_opened_at),
            }
            for invitation in Invitation.objects.filter(invitee_phone=phone).select_related(
                "campaign"
            )
        ],
        "customer": None,
        # kept as keyed fingerprints only (no address, cookie or number can be read back)
        "fraud_signals": sightings_of_person(
            phone, customer.pk if customer is not None else None
        ).count(),
    }
    if customer is not None:
        user = customer.user
        preference = Preference.objects.filter(user=user).first()
        document["customer"] = {
            "since": _iso(customer.created_at),
            "invite_code": customer.invite_code,
            "invitations": [
                {
                    "invitee": mask_phone(row.invitee_phone),  # another person's number
                    "campaign": row.campaign.name,
                    "invited_at": _iso(row.invited_at),
                    "status": row.status,
                }
                for row in customer.invitations.select_related("campaign").order_by("pk")
            ],
            "rewards": [
                {
                    "grant_no": grant.grant_no,
                    "card_kind": grant.card_kind.name if grant.card_kind_id else None,
                    "face_value": str(grant.face_value),
                    "points": grant.points,
                    "status": grant.status,
                    "issued_at": _iso(grant.issued_at),
                    "card": grant.card.masked_number if grant.card_id else None,
                }
                for grant in Grant.objects.filter(inviter=customer)
                .select_related("card_kind", "card")
                .order_by("pk")
            ],
            "points": [
                {"amount": entry.amount, "kind": entry.kind, "at": _iso(entry.created_at)}
                for entry in PointsEntry.objects.filter(customer=customer).order_by("pk")
            ],
            "messages": [
                {
                    "at": _iso(message.created_at),
                    "text": texts.text(message.kind, message.params, "zh-hans"),
                    "status": message.status,
                }
                for message in Message.objects.filter(recipient=user).order_by("pk")
            ],
            "message_preference": (
                {"channel": preference.channel, "language": preference.language}
                if preference
                else None
            ),
            "app_customer_ids": list(
                AppIdentity.objects.filter(user=user).values_list("subject", flat=True)
            ),
        }
    _record(DataRequest.Action.EXPORT, phone, reason, actor, {"customer": customer is not None})
    return document


@transaction.atomic
def erase_person(phone: str, *, reason: str, actor) -> dict:
    """Erase the owner of ``phone`` (see the module's docstring); returns and records what was
    done. Raises ``InvalidPhone`` and ``ReasonRequired``."""
    reason = required_reason(reason)
    phone = normalize_phone(phone)
    customer_id = Customer.objects.filter(phone=phone).values_list("pk", flat=True).first()
    summary = erase_phone(phone)
    summary["fraud_signals"] = forget_person(phone, customer_id)
    user_id = summary.pop("user_id")
    if user_id is not None:
        summary["messages"] = forget_messages(user_id)
        summary["app_identities"] = forget_identity(user_id)
    _record(DataRequest.Action.ERASE, phone, reason, actor, summary)
    return summary


def _record(action: str, phone: str, reason: str, actor, summary: dict) -> None:
    DataRequest.record(
        action,
        phone_digest=erased_phone(phone),
        phone_masked=mask_phone(phone),
        summary=summary,
        reason=reason,
        actor=actor,
    )
