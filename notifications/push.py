"""App push notifications, through the same kind of interface as SMS: a class named by
``settings.PUSH_SENDER`` whose ``send(user_ref, title, text, idempotency_key)`` sends or raises
``SmsNotSent`` (the outbox treats both gateways' refusals alike)."""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

from core.outbound import refuse_inside_transaction

from .sms import SmsNotSent, post

logger = logging.getLogger(__name__)

__all__ = ["ConsoleSender", "HttpSender", "SmsNotSent", "send_push"]


class ConsoleSender:
    def send(self, user_ref: str, title: str, text: str, idempotency_key: str = "") -> None:
        logger.warning("push to user %s: %s: %s", user_ref, title, text)


class HttpSender:
    """The brokerage app's push gateway: one JSON POST, bearer token, bounded time."""

    def send(self, user_ref: str, title: str, text: str, idempotency_key: str = "") -> None:
        post(
            settings.PUSH_GATEWAY_URL,
            settings.PUSH_GATEWAY_TOKEN,
            {"user": user_ref, "title": title, "text": text},
            idempotency_key,
            (2, settings.MESSAGE_GATEWAY_TIMEOUT),
        )


def send_push(user_ref: str, title: str, text: str, *, idempotency_key: str) -> None:
    refuse_inside_transaction("send_push")
    import_string(settings.PUSH_SENDER)().send(user_ref, title, text, idempotency_key)
