"""Card number and password encryption (Fernet through MultiFernet) and the number digest.

Keys come from settings (``CARD_ENCRYPTION_KEYS``, newest first). Decrypted values are returned to
the caller and must never be logged; nothing in this module logs.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "normalize_number", "number_digest", "rotate"]


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


def rotate(token: str) -> str:
    """The same value encrypted under the newest key."""
    return _current().rotate(token.encode()).decode()


def normalize_number(number: str) -> str:
    return "".join(number.split()).upper()


def number_digest(number: str) -> str:
    """Keyed digest of a normalized card number: unique across the pool, used for exact search."""
    key = settings.CARD_NUMBER_DIGEST_KEY.encode()
    return hmac.new(key, normalize_number(number).encode(), hashlib.sha256).hexdigest()
