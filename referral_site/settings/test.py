from .base import *  # noqa: F403
from .base import env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_AUTOREFRESH = True  # no collectstatic in tests
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# tests read codes from notifications.sms.outbox; a test's worker process may name a real sender
SMS_SENDER = env.str("SMS_SENDER", default="notifications.sms.OutboxSender")
QUIET_HOURS = ""  # the tests of quiet hours set their own: a run at night must not hold messages
