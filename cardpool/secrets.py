"""Card number and password encryption (Fernet through MultiFernet) and the number digest.

Keys come from settings (``CARD_ENCRYPTION_KEYS``, newest first). Decrypted values are returned to
the caller and must never be logged; nothing in this module logs.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = [
    "InvalidToken",
    "decrypt",
    "decrypt_bytes",
    "encrypt",
    "encrypt_bytes",
    "mask_number",
    "normalize_number",
    "number_digest",
    "rotate",
    "sealed_rows",
]


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ValueError("CARD_ENCRYPTION_KEYS is empty.")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.CARD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return _current().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return _current().decrypt(token.encode()).decode()


def encrypt_bytes(value: bytes) -> bytes:
    return _current().encrypt(value)


def decrypt_bytes(token: bytes) -> bytes:
    return _current().decrypt(token)


def rotate(token: str) -> str:
    """The same value encrypted under the newest key."""
    return _current().rotate(token.encode()).decode()


def normalize_number(number: str) -> str:
    """A card number as it is stored and shown: no spaces, upper case (dashes kept as printed)."""
    return "".join(number.split()).upper()


def mask_number(number: str) -> str:
    """What anyone is shown of a card number outside a recorded reveal: its last four."""
    return f"••••{number[-4:]}"


def number_digest(number: str) -> str:
    """Keyed digest of a card number: unique across the pool, used for exact search. Computed
    without spaces, dashes or case, so ``dash-0001 0001`` and ``DASH00010001`` are one card."""
    return _digest(settings.CARD_NUMBER_DIGEST_KEY, number)


def _digest(key: str, number: str) -> str:
    bare = normalize_number(number).replace("-", "")
    return hmac.new(key.encode(), bare.encode(), hashlib.sha256).hexdigest()


def sealed_rows(
    keys: tuple[str, ...], digest_key: str, rows: list[tuple[str, str]]
) -> list[tuple[str, str, str]]:
    """``(number, password)`` rows as ``(encrypted number, encrypted password, digest)``. Takes
    its keys as arguments, not from settings, so that helper processes without Django can run it
    (``services.uploads`` spreads a large import's encryption over the machine's cores)."""
    fernet = _fernet(keys)
    return [
        (
            fernet.encrypt(number.encode()).decode(),
            fernet.encrypt(password.encode()).decode(),
            _digest(digest_key, number),
        )
        for number, password in rows
    ]
