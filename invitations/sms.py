"""Sending a text message, through one small interface chosen by ``settings.SMS_SENDER``."""

import logging

import requests
from django.conf import settings
from django.utils.module_loading import import_string

from core.outbound import refuse_inside_transaction

from .phones import mask_phone

logger = logging.getLogger(__name__)


class SmsNotSent(Exception):
    """The gateway did not take the message; nothing was sent."""


class ConsoleSender:
    """Development and demo: the message goes to the log (the number masked). Refused by the
    production settings."""

    def send(self, phone: str, text: str) -> None:
        logger.warning("SMS to %s: %s", mask_phone(phone), text)


class HttpSender:
    """A real gateway: one JSON POST per message, bearer token, bounded time, no redirects."""

    def send(self, phone: str, text: str) -> None:
        try:
            response = requests.post(
                settings.SMS_GATEWAY_URL,
                json={"phone": phone, "text": text},
                headers={"Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}"},
                timeout=(2, 5),
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise SmsNotSent(f"gateway unreachable: {type(error).__name__}") from None
        if not 200 <= response.status_code < 300:
            raise SmsNotSent(f"gateway answered HTTP {response.status_code}")


outbox: list[tuple[str, str]] = []


class OutboxSender:
    """Tests: messages are appended to ``outbox`` (as Django's locmem mail backend does)."""

    def send(self, phone: str, text: str) -> None:
        outbox.append((phone, text))


def send_sms(phone: str, text: str) -> None:
    refuse_inside_transaction("send_sms")  # a slow gateway must hold no row lock
    import_string(settings.SMS_SENDER)().send(phone, text)
