"""django-q2 entry points."""

from .services import refresh_funnels as refresh


def refresh_funnels() -> int:
    return refresh()
