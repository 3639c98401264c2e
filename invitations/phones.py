"""Mainland China mobile numbers: the identity an invitee is known by."""

import re

from django.utils.translation import gettext_lazy as _

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


def mask_phone(phone: str) -> str:
    """``13800138000`` -> ``138****8000``: what anyone but its owner (and staff allowed to see
    phones) is shown of a number. Anything that is not 11 characters is masked whole."""
    if len(phone) != 11:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"
