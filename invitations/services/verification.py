"""Proof that whoever types a number on a public form holds it: a one-time code by SMS.

Only a verified number becomes an invitation (``create_invitation``, unchanged for trusted
callers) or a customer account (``customer_user_for_phone``). Every number that can be texted
gets the same answer, "we sent a code", so the pages tell nobody whether a number is a
customer's or was invited already."""

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from core.client_ip import throttle_key
from core.throttles import rate
from notifications.gateway import send_code
from notifications.sms import SmsNotSent

from ..exceptions import (
    AlreadyACustomer,
    CodeExpired,
    CodeNotSent,
    CodeSentRecently,
    CodeUsedUp,
    DuplicateInvitation,
    TooManyCodes,
    WrongCode,
)
from ..models import Customer, Invitation, PhoneVerification
from ..phones import normalize_phone
from ..selectors import current_campaign
from .invitations import create_invitation


def _sent_within(codes, now, limit) -> int:
    return codes.filter(created_at__gt=now - timedelta(seconds=limit.seconds)).count()


def _digest(verification_phone: str, code: str) -> str:
    """A code is kept as a keyed digest, never in clear (Django's salted HMAC of SECRET_KEY)."""
    value = f"{verification_phone}:{code}"
    return salted_hmac("invitations.phone-code", value, algorithm="sha256").hexdigest()


def send_phone_code(
    inviter: Customer | None,
    phone: str,
    *,
    address: str | None,
    channel: str = "link",
    consented_at: datetime | None = None,
) -> PhoneVerification:
    """Text a fresh six-digit code to ``phone``, for an invitation by ``inviter`` (whose invitee
    agreed to the use of their number at ``consented_at``) or, without one, for a sign-up.
    Raises ``InvalidPhone``, ``CodeSentRecently``, ``TooManyCodes`` (per number and per
    address, each per hour) and ``CodeNotSent``.
    ``address`` is the client's (``client_ip``); it is counted, and kept, as ``throttle_key``
    gives it: an IPv6 client per /64, whose low bits are the client's to change.

    The throttles count recent rows without a lock: two requests at the same instant may both
    pass the last free slot, which bounds the overshoot to the concurrency of one client."""
    phone = normalize_phone(phone)
    address = throttle_key(address)
    if channel not in Invitation.Channel.values:
        channel = Invitation.Channel.LINK  # the query string is the visitor's to write
    now = timezone.now()
    resend = rate("phone_code_resend")
    per_number, per_address = rate("phone_codes_per_number"), rate("phone_codes_per_address")
    longest = max(resend.seconds, per_number.seconds, per_address.seconds)
    recent = PhoneVerification.objects.filter(created_at__gt=now - timedelta(seconds=longest))
    last = recent.filter(phone=phone).order_by("-created_at").first()
    if last is not None:
        wait = resend.seconds - (now - last.created_at).total_seconds()
        if wait > 0:
            raise CodeSentRecently(int(wait) + 1)
    if _sent_within(recent.filter(phone=phone), now, per_number) >= per_number.count:
        raise TooManyCodes()
    if address and _sent_within(recent.filter(address=address), now, per_address) >= (
        per_address.count
    ):
        raise TooManyCodes()

    code = f"{secrets.randbelow(10**6):06d}"
    verification = PhoneVerification.objects.create(
        inviter=inviter,
        phone=phone,
        channel=channel,
        code_digest=_digest(phone, code),
        address=address,
        consented_at=consented_at,
        expires_at=now + timedelta(minutes=settings.PHONE_CODE_TTL_MINUTES),
    )
    text = _("Your verification code is %(code)s, valid for %(minutes)d minutes.") % {
        "code": code,
        "minutes": settings.PHONE_CODE_TTL_MINUTES,
    }
    try:
        send_code(phone, text)
    except SmsNotSent:
        # still counted by the throttles: a failing gateway is not a way around them
        PhoneVerification.objects.filter(pk=verification.pk).update(expires_at=now)
        raise CodeNotSent() from None
    return verification


def check_phone_code(verification: PhoneVerification, code: str) -> PhoneVerification:
    """Check ``code``; returns the verification, verified. Raises ``WrongCode`` (counted, even
    though it raises), ``CodeExpired`` and ``CodeUsedUp``. A verified one stays verified: the
    right code entered twice (a double tap) passes twice."""
    now = timezone.now()
    with transaction.atomic():
        locked = PhoneVerification.objects.select_for_update().get(pk=verification.pk)
        refusal = None
        if locked.verified_at is None:
            if now >= locked.expires_at:
                refusal = CodeExpired()
            elif locked.attempts >= settings.PHONE_CODE_MAX_ATTEMPTS:
                refusal = CodeUsedUp()
            elif not hmac.compare_digest(
                locked.code_digest, _digest(locked.phone, (code or "").strip())
            ):
                locked.attempts += 1
                locked.save(update_fields=["attempts"])
                left = settings.PHONE_CODE_MAX_ATTEMPTS - locked.attempts
                refusal = WrongCode(left) if left > 0 else CodeUsedUp()
            else:
                locked.verified_at = now
                locked.save(update_fields=["verified_at"])
    if refusal is not None:
        raise refusal  # after the commit: a wrong code stays counted
    return locked


@dataclass(frozen=True)
class Acceptance:
    """Where a friend who proved their number stands with this link: told to them, the holder
    of the number, and only about their own number (never who else invited them)."""

    ACCEPTED = "accepted"  # the invitation was made now
    ACCEPTED_BEFORE = "accepted_before"  # they accepted this inviter's invitation earlier
    INVITED_BY_ANOTHER = "invited_by_another"  # another friend's invitation came first
    ALREADY_A_CUSTOMER = "already_a_customer"  # they use the referral pages themselves
    OUTCOMES = (ACCEPTED, ACCEPTED_BEFORE, INVITED_BY_ANOTHER, ALREADY_A_CUSTOMER)

    outcome: str
    invitation: Invitation | None = None


def accept_invitation(
    inviter: Customer, phone: str, *, channel: str, consented_at: datetime | None
) -> Acceptance:
    """For a number its holder has proved (a code just now, or a proof their session keeps):
    the invitation, made now or found from before, and where they stand. Raises the other
    refusals of ``create_invitation`` (no campaign running, inviting oneself)."""
    phone = normalize_phone(phone)
    try:
        invitation = create_invitation(inviter, phone, channel=channel, consented_at=consented_at)
        return Acceptance(Acceptance.ACCEPTED, invitation)
    except AlreadyACustomer:
        return Acceptance(Acceptance.ALREADY_A_CUSTOMER)
    except DuplicateInvitation:
        earlier = Invitation.objects.filter(
            campaign=current_campaign(), invitee_phone=phone
        ).first()
        if earlier is None:  # the campaign ended in between
            raise
    mine = earlier.inviter_id == inviter.pk
    return Acceptance(
        Acceptance.ACCEPTED_BEFORE if mine else Acceptance.INVITED_BY_ANOTHER, earlier
    )


def confirm_phone_code(verification: PhoneVerification, code: str) -> Acceptance:
    """Check ``code`` and, when right, accept the invitation (``accept_invitation``). Raises what
    ``check_phone_code`` and ``create_invitation`` raise. A double tap finds the invitation the
    first one made, as just accepted."""
    verified = check_phone_code(verification, code)
    earlier = Invitation.objects.filter(
        inviter_id=verified.inviter_id,
        invitee_phone=verified.phone,
        invited_at__gte=verified.verified_at,
    ).first()
    if earlier is not None:
        return Acceptance(Acceptance.ACCEPTED, earlier)
    return accept_invitation(
        verified.inviter,
        verified.phone,
        channel=verified.channel,
        consented_at=verified.consented_at,
    )


def purge_phone_verifications() -> int:
    """Delete the records of codes sent (number, time, address) older than
    ``PHONE_VERIFICATION_RETENTION_DAYS``; returns how many. The throttles read the last hour."""
    days = max(settings.PHONE_VERIFICATION_RETENTION_DAYS, 1)
    old = PhoneVerification.objects.filter(created_at__lt=timezone.now() - timedelta(days=days))
    return old.delete()[0]
