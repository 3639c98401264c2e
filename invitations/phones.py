"""Mainland China mobile numbers: the identity an invitee is known by."""

import re

from django.utils.translation import gettext_lazy as _

from referral_site.privacy import mask_phone

__all__ = ["INVALID_PHONE", "InvalidPhone", "mask_phone", "normalize_phone", "phone_or_none"]

INVALID_PHONE = _("Enter a valid 11-digit mainland China mobile number, for example 138 0013 8000.")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class InvalidPhone(ValueError):
    def __init__(self):
        super().__init__(INVALID_PHONE)


def normalize_phone(raw: str) -> str:
    """``+86 138-0013-8000`` -> ``13800138000``; raises ``InvalidPhone`` for anything else."""
    text = re.sub(r"[\s\-()]", "", raw or "")
    for prefix in ("+86", "0086", "86"):
        if text.startswith(prefix) and len(text) == len(prefix) + 11:
            text = text[len(prefix) :]
            break
    if not _MOBILE.match(text):
        raise InvalidPhone()
    return text


def phone_or_none(raw: str) -> str | None:
    """The normalized number if ``raw`` is one, else None (a search term may be something else)."""
    try:
        return normalize_phone(raw)
    except InvalidPhone:
        return None
