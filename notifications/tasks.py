"""django-q2 entry points."""

from .services import deliver_messages as deliver


def deliver_messages() -> dict:
    return deliver()
