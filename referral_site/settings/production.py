"""Production: secrets have no default, so a missing one stops the start-up."""

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DEVELOPMENT_SECRETS, env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
CARD_ENCRYPTION_KEYS = env.list("CARD_ENCRYPTION_KEYS")
CARD_NUMBER_DIGEST_KEY = env.str("CARD_NUMBER_DIGEST_KEY")
ACCOUNT_OPENING_WEBHOOK_SECRETS = env.list("ACCOUNT_OPENING_WEBHOOK_SECRETS", default=[])

# The development keys are in the repository: cards encrypted under them are readable by anyone.
for _name, _value in (
    ("SECRET_KEY", SECRET_KEY),
    ("CARD_ENCRYPTION_KEYS", ",".join(CARD_ENCRYPTION_KEYS)),
    ("CARD_NUMBER_DIGEST_KEY", CARD_NUMBER_DIGEST_KEY),
    ("ACCOUNT_OPENING_WEBHOOK_SECRETS", ",".join(ACCOUNT_OPENING_WEBHOOK_SECRETS)),
):
    if DEVELOPMENT_SECRETS[_name] in _value.split(",") or DEVELOPMENT_SECRETS[_name] == _value:
        raise ImproperlyConfigured(f"{_name} is the development value; set a secret one.")
for _position, _key in enumerate(CARD_ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            f"CARD_ENCRYPTION_KEYS: key {_position} is not a Fernet key (32 url-safe base64 "
            "bytes; make one with cryptography.fernet.Fernet.generate_key())."
        ) from None

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# The language choice too: only over HTTPS, not sent by other sites' requests, not for scripts.
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT  # noqa: F405

# Anomaly emails go out by SMTP (EMAIL_HOST, EMAIL_PORT, ... as Django reads them) unless a
# deployer names another backend; the console backend of development would lose them.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)

# Invitees' codes go to a real SMS gateway; the console sender of development would only log them.
SMS_SENDER = env.str("SMS_SENDER", default="notifications.sms.HttpSender")
if SMS_SENDER.endswith("ConsoleSender"):
    raise ValueError("SMS_SENDER: the console sender only logs codes; name a real gateway sender")
# App notifications: none unless a gateway is named (customers are then not offered them).
PUSH_SENDER = env.str("PUSH_SENDER", default="")
if PUSH_SENDER.endswith("ConsoleSender"):
    raise ValueError("PUSH_SENDER: the console sender only logs; name a real gateway sender")
if PUSH_SENDER == "notifications.push.HttpSender":
    PUSH_GATEWAY_URL = env.str("PUSH_GATEWAY_URL")
if SMS_SENDER == "notifications.sms.HttpSender":
    SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL")

# The brokerage app's hand-off: never the development key pair of devtools/app_handoff.py.
if "MCowBQYDK2VwAyEAHTXwOZcBrr4KBEcmpLbYf0s5DurNAfWIKEdFROIVXZ4" in APP_HANDOFF_PUBLIC_KEYS:  # noqa: F405
    raise ValueError("APP_HANDOFF_PUBLIC_KEYS: that is the development key; give the app's own")

# Staff who can reveal a card, move money or change a campaign sign in with a second factor.
STAFF_SECOND_FACTOR_REQUIRED = env.bool("STAFF_SECOND_FACTOR_REQUIRED", default=True)
