"""Log lines: JSON in production, readable in development; a request id on every line of a
request; personal data masked on the way out (defence in depth: code never logs a card secret,
but a library logging a URL at DEBUG would log the phone in its query string)."""

import json
import logging
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar

from core.privacy import mask_phone

request_id: ContextVar[str] = ContextVar("request_id", default="-")
subject: ContextVar[dict] = ContextVar("subject", default={})  # noqa: B039 (never mutated)


@contextmanager
def log_context(**ids):
    """Every line logged inside carries these ids (``invitation=42``): which invitation or grant
    a task's line is about, without each log call saying so."""
    token = subject.set({**subject.get(), **ids})
    try:
        yield
    finally:
        subject.reset(token)


PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")


class Context(logging.Filter):
    """Adds ``request_id`` and the ``log_context`` ids to every record, and masks phone numbers
    in its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.subject = subject.get()
        message = record.getMessage()
        masked = PHONE.sub(lambda match: mask_phone(match.group(0)), message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            **getattr(record, "subject", {}),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = PHONE.sub(
                lambda match: mask_phone(match.group(0)), self.formatException(record.exc_info)
            )
        return json.dumps(entry, ensure_ascii=False)


def request_ids(get_response):
    """Middleware: each request gets an id (the proxy's X-Request-ID when it is a plain token),
    on every log line it causes and in the response's X-Request-ID."""

    def middleware(request):
        given = request.headers.get("X-Request-ID", "")
        token = request_id.set(given if REQUEST_ID.match(given) else uuid.uuid4().hex)
        try:
            response = get_response(request)
            response["X-Request-ID"] = request_id.get()
            return response
        finally:
            request_id.reset(token)

    return middleware
