"""A request-rate limit shared by every worker process on every machine, kept in PostgreSQL (the
account-opening service's lookups, the SMS and push gateways' sends).

Each request reserves the next free slot with one atomic upsert (the row lock lasts for that
statement only): slot = max(next_free, now); next_free = slot + 1/rate. The caller sleeps until
its slot. Slots are spaced evenly by the database's clock, so the upstream never sees more than
``rate`` requests in any second, however many workers run and whatever their clocks say.
"""

import math
import time

from django.db import connection

from core.models import RateLimit
from core.outbound import inside_transaction

TABLE = RateLimit._meta.db_table

# The slot is never further than %(cap)s seconds ahead: a row pushed further (by a hostile
# Retry-After, or by hand) is pulled back, so one reply can never stop polling for long. The
# WHERE clause reserves nothing when the slot falls after the caller's deadline: a caller that
# gives up must not push the slot further for everyone else.
RESERVE = f"""
INSERT INTO {TABLE} AS limiter (name, next_free_at)
VALUES (%(name)s, clock_timestamp() + make_interval(secs => %(interval)s))
ON CONFLICT (name) DO UPDATE
    SET next_free_at = GREATEST(LEAST(limiter.next_free_at,
                                      clock_timestamp() + make_interval(secs => %(cap)s)),
                                clock_timestamp())
                       + make_interval(secs => %(interval)s)
    WHERE LEAST(limiter.next_free_at, clock_timestamp() + make_interval(secs => %(cap)s))
          <= clock_timestamp() + make_interval(secs => %(max_wait)s)
RETURNING EXTRACT(EPOCH FROM (limiter.next_free_at - make_interval(secs => %(interval)s)
                              - clock_timestamp()))
"""  # noqa: S608 (the table name is the model's)
PUSH_BACK = f"""
INSERT INTO {TABLE} AS limiter (name, next_free_at)
VALUES (%(name)s, clock_timestamp() + make_interval(secs => %(seconds)s))
ON CONFLICT (name) DO UPDATE
    SET next_free_at = LEAST(GREATEST(limiter.next_free_at,
                                      clock_timestamp() + make_interval(secs => %(seconds)s)),
                             clock_timestamp() + make_interval(secs => %(cap)s))
"""  # noqa: S608
# A caller that finds no slot before its deadline also pulls a row left beyond the cap back to it,
# so what staff read in the table is what the limiter does.
HEAL = f"""
UPDATE {TABLE}
SET next_free_at = clock_timestamp() + make_interval(secs => %(cap)s)
WHERE name = %(name)s AND next_free_at > clock_timestamp() + make_interval(secs => %(cap)s)
"""  # noqa: S608
# Slots a little wider than 1/rate, so jitter in network latency cannot squeeze rate+1
# requests into one second at the upstream.
SAFETY_MARGIN = 1.05


def clamp_seconds(seconds: float, cap: float) -> float:
    """``seconds`` within [0, cap]; NaN counts as "as long as allowed"."""
    if math.isnan(seconds):
        return cap
    return min(max(seconds, 0.0), cap)


class SharedRateLimiter:
    def __init__(self, name: str, rate: float, *, cap: float):
        """``rate`` requests a second at most; ``cap``: the longest wait the slot may be pushed
        ahead (the service's own longest Retry-After that we honour)."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.name = name
        self.interval = SAFETY_MARGIN / rate
        self.cap = float(cap)

    def wait_for_slot(self, deadline: float | None = None) -> bool:
        """Reserve the next slot and sleep until it. Returns False, reserving nothing and without
        sleeping, when the slot falls after ``deadline`` (a ``time.monotonic()`` value)."""
        if inside_transaction():
            raise RuntimeError(
                "Never wait for an outside service inside a transaction (locks held)."
            )
        max_wait = self.cap if deadline is None else deadline - time.monotonic()
        if max_wait < 0:
            return False
        with connection.cursor() as cursor:
            cursor.execute(
                RESERVE,
                {
                    "name": self.name,
                    "interval": self.interval,
                    "cap": self.cap,
                    "max_wait": max_wait,
                },
            )
            row = cursor.fetchone()
            if row is None:
                cursor.execute(HEAL, {"name": self.name, "cap": self.cap})
                return False
        time.sleep(clamp_seconds(float(row[0]), self.cap))
        return True

    def push_back(self, seconds: float) -> None:
        """The upstream said 429 / Retry-After: nobody sends before then, up to the cap."""
        seconds = clamp_seconds(float(seconds), self.cap)
        with connection.cursor() as cursor:
            cursor.execute(PUSH_BACK, {"name": self.name, "seconds": seconds, "cap": self.cap})
