"""django-q2 entry points."""

from .services import fulfil_pending_grants as fulfil


def fulfil_pending_grants() -> int:
    return fulfil()
