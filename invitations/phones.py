"""Mainland China mobile numbers: the identity an invitee is known by.

``normalize_phone`` is the one way a typed or received number becomes the stored one, at every
boundary (customer and staff forms, admin search, the login, services called by commands). It
accepts any Unicode decimal digit (full-width ``１３８``, Arabic-Indic ``١٣٨``, Persian,
Devanagari...) and maps it to its ASCII digit, so ``13９...`` and ``139...`` are the same number
for uniqueness and for every per-number limit; it drops separators (spaces of any kind, hyphens,
dots, parentheses, their full-width forms) and invisible direction marks that copying a number
from a contact card adds, and an optional ``+86`` / ``0086`` / ``86`` prefix (``＋`` too).
Anything else (letters, superscripts, circled or Chinese numerals, control characters) is
refused with ``InvalidPhone``. A stored number is always 11 ASCII digits starting with 1 (a
check constraint on every phone column)."""

import re
import unicodedata

from django.utils.translation import gettext_lazy as _

from core.privacy import mask_phone

__all__ = [
    "INVALID_PHONE",
    "PHONE_NOT_DIGITS",
    "STORED_PHONE",
    "InvalidPhone",
    "ascii_digits",
    "mask_phone",
    "normalize_phone",
    "phone_or_none",
]

INVALID_PHONE = _("Enter a valid 11-digit mainland China mobile number, for example 138 0013 8000.")
PHONE_NOT_DIGITS = _(
    "A mobile number can only contain digits (spaces and dashes are fine), "
    "for example 138 0013 8000."
)
# What the database's check constraints accept (PostgreSQL's [0-9] is ASCII only).
STORED_PHONE = r"^1[0-9]{10}$"
# A number erased once it was no longer needed (services.retention): a keyed digest in its place.
ERASED_PHONE = r"^x[0-9a-f]{40}$"
_MOBILE = re.compile(r"1[3-9][0-9]{9}", re.ASCII)
# Longer than any way of writing a number with its prefix and separators: refused unread.
_MAX_TYPED = 40

# Separators people type or paste between groups of digits: dropped. Spaces of every kind are
# dropped too (str.isspace: U+3000 ideographic space, no-break spaces...).
_SEPARATORS = frozenset(
    "-.()/"
    "\uff0d\uff0e\uff08\uff09\uff0f"  # full-width － ． （ ） ／
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"  # hyphens, dashes, minus
    "\u30fb\uff65\u00b7"  # middle dots
    # invisible: zero-width space/joiners, direction marks, embeddings and isolates, BOM
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2066\u2067\u2068\u2069\ufeff"
)
_PLUS = frozenset("+\uff0b")  # + and full-width ＋


class InvalidPhone(ValueError):
    def __init__(self, message=INVALID_PHONE):
        super().__init__(message)


def ascii_digits(text: str) -> str | None:
    """``text`` with every Unicode decimal digit written as its ASCII digit, or None if it holds
    anything else. ``str.isdigit`` and ``\\d`` also take superscripts and other scripts' digits;
    this is the one place that decides what a digit is."""
    digits = []
    for char in text:
        value = unicodedata.decimal(char, None)
        if value is None:
            return None
        digits.append(str(value))
    return "".join(digits)


def normalize_phone(raw: str) -> str:
    """``+86 138-0013-8000`` or ``１３８ ００１３ ８０００`` -> ``13800138000``; raises
    ``InvalidPhone`` (its message says what is wrong) for anything else."""
    raw = raw or ""
    if len(raw) > _MAX_TYPED:
        raise InvalidPhone()
    kept = [char for char in raw if not (char.isspace() or char in _SEPARATORS)]
    plus = bool(kept) and kept[0] in _PLUS
    digits = ascii_digits("".join(kept[1:] if plus else kept))
    if digits is None:
        raise InvalidPhone(PHONE_NOT_DIGITS)
    for prefix in ("86", "0086") if not plus else ("86",):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    else:
        if plus:  # another country's number
            raise InvalidPhone()
    if not _MOBILE.fullmatch(digits):
        raise InvalidPhone()
    return digits


def phone_or_none(raw: str) -> str | None:
    """The normalized number if ``raw`` is one, else None (a search term may be something else)."""
    try:
        return normalize_phone(raw)
    except InvalidPhone:
        return None


def erased_phone(phone: str) -> str:
    """What an erased number becomes: a keyed digest (SECRET_KEY's salted HMAC), enough to know
    the same number again (a second invitation in the campaign is still refused), not to read
    it back."""
    from django.utils.crypto import salted_hmac

    digest = salted_hmac("invitations.erased-phone", phone, algorithm="sha256").hexdigest()
    return "x" + digest[:40]
