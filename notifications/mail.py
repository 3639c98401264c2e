"""Staff alerts by e-mail, through Django's mail backend (``EMAIL_BACKEND``, ``EMAIL_TIMEOUT``).
The send's idempotency key becomes the e-mail's Message-ID, the header by which mail systems
drop a copy they already have; a mail server's failure is an ``SmsNotSent`` like a gateway's."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from core.outbound import refuse_inside_transaction

from .sms import SmsNotSent


def message_id(idempotency_key: str) -> str:
    return f"<{idempotency_key}@{urlsplit(settings.SITE_URL).hostname or 'localhost'}>"


def send_email(address: str, subject: str, body: str, *, idempotency_key: str) -> None:
    refuse_inside_transaction("send_email")  # a slow mail server must hold no row lock
    mail = EmailMessage(
        subject, body, to=[address], headers={"Message-ID": message_id(idempotency_key)}
    )
    try:
        get_connection().send_messages([mail])
    except Exception as error:  # smtplib's, socket's: the server did not take it
        raise SmsNotSent(f"mail server: {type(error).__name__}") from None
