"""Grant numbers: from a PostgreSQL sequence, never from the clock.

The other team's incident: order numbers made from a timestamp to the second, not a key, so two
orders in one second shared a number and one payment settled both. A sequence never hands out a
value twice, whatever the concurrency; the unique constraint on ``Grant.grant_no`` backs it up.
A check digit (Luhn) catches a mistyped number when staff or customers quote one.
"""

from django.db import connection

SEQUENCE = "rewards_grant_no_seq"
PREFIX = "RG"


def luhn_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_valid_grant_no(grant_no: str) -> bool:
    body = grant_no[len(PREFIX) :]
    return grant_no.startswith(PREFIX) and body.isdigit() and luhn_digit(body[:-1]) == body[-1]


def _grant_no(value: int) -> str:
    digits = f"{value:010d}"
    return f"{PREFIX}{digits}{luhn_digit(digits)}"


def next_grant_no() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [SEQUENCE])
        return _grant_no(cursor.fetchone()[0])


def next_grant_nos(count: int) -> list[str]:
    """``count`` numbers in one round trip (the batch grant path)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [SEQUENCE, count])
        return [_grant_no(value) for (value,) in cursor.fetchall()]
