"""django-q2 entry points: parse nothing, call one service."""

from .services import expire_cards


def expire_cards_task() -> int:
    return expire_cards()
