"""Test helpers for what talks to the outside world (mail, SMS, the account-opening upstream).

``silent_smtp_server``: a mail server that accepts the connection and never says a word (no 220
greeting), the worst a mail server can do short of refusing. ``outbound_calls``: wraps the last
step of every sender the product has and records, for each call, whether a transaction of ours
was open at that moment (none may be: docs/architecture.md)."""

import socket
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from unittest import mock

from core.outbound import inside_transaction


@dataclass
class SilentServer:
    port: int
    connected: threading.Event = field(default_factory=threading.Event)


@contextmanager
def silent_smtp_server():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    server = SilentServer(port=listener.getsockname()[1])
    held = []

    def accept():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed
            held.append(conn)  # kept open, never answered
            server.connected.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        listener.close()
        for conn in held:
            conn.close()


@dataclass
class OutboundCall:
    what: str
    inside_transaction: bool


def _watch(calls: list, what: str, original):
    def wrapper(*args, **kwargs):
        calls.append(OutboundCall(what, inside_transaction()))
        return original(*args, **kwargs)

    return wrapper


@contextmanager
def outbound_calls():
    """Yields the list of calls made to the mail backends, the SMS senders and the upstream's
    HTTP exchange while it is open (each still goes through)."""
    from django.core.mail.backends import locmem, smtp

    from account_opening.client import HttpAccountOpeningClient
    from notifications import sms

    calls: list[OutboundCall] = []
    targets = [
        (locmem.EmailBackend, "send_messages", "mail"),
        (smtp.EmailBackend, "send_messages", "mail"),
        (sms.OutboxSender, "send", "sms"),
        (sms.HttpSender, "send", "sms"),
        (sms.ConsoleSender, "send", "sms"),
        (HttpAccountOpeningClient, "_exchange", "upstream"),
    ]
    with ExitStack() as stack:
        for owner, name, what in targets:
            stack.enter_context(
                mock.patch.object(owner, name, _watch(calls, what, getattr(owner, name)))
            )
        yield calls
