"""The brokerage app's signed hand-off: a JWT its backend signs with a private key whose public
keys we hold (``APP_HANDOFF_PUBLIC_KEYS``, several during a rotation). Only asymmetric
algorithms are accepted (EdDSA, RS256): never ``none``, never an HMAC keyed with a public key.
The token names the brokerage's customer (``sub``) and their phone, is meant for us (``aud``),
comes from the app (``iss``), lives at most ``APP_HANDOFF_MAX_SECONDS`` and is used once
(``jti``, checked by ``services.enter``)."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from django.conf import settings

ALGORITHMS = ["EdDSA", "RS256"]
REQUIRED = ["iss", "aud", "sub", "exp", "iat", "jti", "phone"]
LEEWAY_SECONDS = 5  # clocks a little apart
MAX_TOKEN_BYTES = 4096
PEM = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


class HandoffRefused(Exception):
    """Why a token was refused, for the log (never the token); the person sees one message."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


@dataclass(frozen=True)
class Claims:
    issuer: str
    subject: str
    phone: str
    token_id: str
    expires_at: datetime


def public_keys(text: str) -> list[str]:
    """Every PEM public key in ``text`` (the setting holds one or several, one after another;
    ``\\n`` written literally in an environment variable counts as a line break)."""
    return PEM.findall(text.replace("\\n", "\n"))


def verify(token: str) -> Claims:
    """The claims of a valid hand-off token; raises ``HandoffRefused`` saying why not."""
    keys = public_keys(settings.APP_HANDOFF_PUBLIC_KEYS)
    if not keys:
        raise HandoffRefused("no public key configured (APP_HANDOFF_PUBLIC_KEYS)")
    if not token or len(token) > MAX_TOKEN_BYTES:
        raise HandoffRefused("no token, or one too long")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise HandoffRefused("not a JWT") from None
    if header.get("alg") not in ALGORITHMS:
        raise HandoffRefused(f"algorithm {str(header.get('alg'))[:20]!r} not accepted")
    payload, last = None, "bad signature"
    for key in keys:
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=settings.APP_HANDOFF_AUDIENCE,
                issuer=settings.APP_HANDOFF_ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED},
            )
            break
        except (jwt.InvalidSignatureError, jwt.InvalidKeyError):
            continue  # another key of a rotation (maybe of another algorithm) may have signed it
        except jwt.PyJWTError as error:
            last = type(error).__name__
            break
    if payload is None:
        raise HandoffRefused(last)
    if payload["iat"] > datetime.now(UTC).timestamp() + LEEWAY_SECONDS:
        raise HandoffRefused("issued in the future")
    lifetime = payload["exp"] - payload["iat"]
    if not 0 < lifetime <= settings.APP_HANDOFF_MAX_SECONDS:
        raise HandoffRefused(f"lives {lifetime}s, at most {settings.APP_HANDOFF_MAX_SECONDS}s")
    texts = [payload[name] for name in ("sub", "phone", "jti")]
    if not all(isinstance(value, str) and 0 < len(value) <= 200 for value in texts):
        raise HandoffRefused("sub, phone and jti must be short strings")
    return Claims(
        payload["iss"],
        payload["sub"],
        payload["phone"],
        payload["jti"],
        datetime.fromtimestamp(payload["exp"], tz=UTC),
    )
