"""Entering the referral pages from the brokerage's app: a verified hand-off (``handoff``)
becomes a signed-in customer. The customer for a phone comes from the function named by
``SIGNIN_CUSTOMER_USER`` (the customers live in ``invitations``, above this app)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from core.clock import database_now

from .handoff import Claims, HandoffRefused
from .models import AppIdentity, SignInEvent, UsedHandoff

logger = logging.getLogger(__name__)


class IdentityRefused(HandoffRefused):
    """Valid token, wrong person: recorded for staff."""

    def __init__(self, action: str, user=None):
        super().__init__(action)
        self.action, self.user = action, user


def _customer_user(phone: str):
    return import_string(settings.SIGNIN_CUSTOMER_USER)(phone)


def enter(claims: Claims):
    """The user the token names: found by the brokerage's customer id, or tied to it now by the
    phone (a customer made for a new phone). Raises ``HandoffRefused``: a token used before, a
    phone the site cannot take; ``IdentityRefused`` (recorded): the known customer id with
    another phone, a phone already tied to another customer id, a staff account."""
    try:
        with transaction.atomic():
            return _enter_locked(claims)
    except IdentityRefused as refusal:
        SignInEvent.record(
            refusal.action,
            issuer=claims.issuer,
            subject=claims.subject,
            user=refusal.user,
            actor_label="app hand-off",
        )
        raise


def _enter_locked(claims: Claims):
    try:
        with transaction.atomic():
            UsedHandoff.objects.create(
                issuer=claims.issuer, jti=claims.token_id, expires_at=claims.expires_at
            )
    except IntegrityError:
        raise HandoffRefused("token used before") from None
    user = _customer_user(claims.phone)
    if user is None:
        raise HandoffRefused("the phone is not a mobile number the site takes")
    if user.is_staff or user.is_superuser:
        raise IdentityRefused(SignInEvent.Action.STAFF_ACCOUNT, user)
    if not user.is_active:
        raise HandoffRefused("the account is disabled")
    identity = (
        AppIdentity.objects.select_for_update()
        .filter(issuer=claims.issuer, subject=claims.subject)
        .first()
    )
    if identity is not None:
        if identity.user_id != user.pk:
            raise IdentityRefused(SignInEvent.Action.PHONE_MISMATCH, identity.user)
        return user
    if AppIdentity.objects.filter(issuer=claims.issuer, user=user).exists():
        raise IdentityRefused(SignInEvent.Action.PHONE_OF_ANOTHER, user)
    try:
        with transaction.atomic():
            AppIdentity.objects.create(issuer=claims.issuer, subject=claims.subject, user=user)
    except IntegrityError:  # the same person's first two tokens at the same instant
        raise HandoffRefused("identity being recorded by another request") from None
    return user


# Token ids are kept this long past their tokens' expiry: the web hosts' clocks (which check
# expiry, with a few seconds' leeway) may be behind the database's (which purges).
KEPT_PAST_EXPIRY = timedelta(minutes=10)


def purge_used_handoffs() -> int:
    before = database_now() - KEPT_PAST_EXPIRY
    return UsedHandoff.objects.filter(expires_at__lt=before).delete()[0]


def app_customer_id(user_id: int) -> str | None:
    """The brokerage app's customer id of one of our users (their first hand-off tied it), or
    None: the push gateway's address for them (``PUSH_RECIPIENT``)."""
    return (
        AppIdentity.objects.filter(issuer=settings.APP_HANDOFF_ISSUER, user_id=user_id)
        .values_list("subject", flat=True)
        .first()
    )


def forget_user(user_id: int) -> int:
    """A person erased on request: the app's customer id tied to them goes (the refusals
    recorded stay, naming the disabled user)."""
    deleted, _ = AppIdentity.objects.filter(user_id=user_id).delete()
    return deleted
