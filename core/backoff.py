"""The one backoff rule: a wait that doubles with each attempt, from ``first`` up to
``longest``. Works on anything that multiplies by an int and compares (seconds, timedelta)."""

from typing import TypeVar

T = TypeVar("T")

MAX_DOUBLINGS = 16  # bounded: attempts can run high, and a timedelta overflows past 2**40 minutes


def doubling(attempt: int, first: T, longest: T) -> T:
    """``first`` at attempt 1 (or less), twice as long at each attempt after, never past
    ``longest``."""
    return min(first * 2 ** min(max(attempt - 1, 0), MAX_DOUBLINGS), longest)
