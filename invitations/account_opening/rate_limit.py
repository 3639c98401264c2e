"""A request-rate limit shared by every worker process on every machine, kept in PostgreSQL.

Each request reserves the next free slot with one atomic upsert (the row lock lasts for that
statement only): slot = max(next_free, now); next_free = slot + 1/rate. The caller sleeps until
its slot. Slots are spaced evenly by the database's clock, so the upstream never sees more than
``rate`` requests in any second, however many workers run and whatever their clocks say.
"""

import time

from django.db import connection

RESERVE = """
INSERT INTO invitations_upstreamratelimit AS limiter (name, next_free_at)
VALUES (%(name)s, clock_timestamp() + make_interval(secs => %(interval)s))
ON CONFLICT (name) DO UPDATE
    SET next_free_at = GREATEST(limiter.next_free_at, clock_timestamp())
                       + make_interval(secs => %(interval)s)
RETURNING EXTRACT(EPOCH FROM (limiter.next_free_at - make_interval(secs => %(interval)s)
                              - clock_timestamp()))
"""
PUSH_BACK = """
INSERT INTO invitations_upstreamratelimit AS limiter (name, next_free_at)
VALUES (%(name)s, clock_timestamp() + make_interval(secs => %(seconds)s))
ON CONFLICT (name) DO UPDATE
    SET next_free_at = GREATEST(limiter.next_free_at,
                                clock_timestamp() + make_interval(secs => %(seconds)s))
"""
# Slots a little wider than 1/rate, so jitter in network latency cannot squeeze rate+1
# requests into one second at the upstream.
SAFETY_MARGIN = 1.05


class SharedRateLimiter:
    def __init__(self, name: str, rate: float):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.name = name
        self.interval = SAFETY_MARGIN / rate

    def wait_for_slot(self, deadline: float | None = None) -> bool:
        """Reserve the next slot and sleep until it. Returns False, without sleeping, when the
        slot falls after ``deadline`` (a ``time.monotonic()`` value); the slot is then unused."""
        if connection.in_atomic_block:
            raise RuntimeError("Never wait for the upstream inside a transaction (locks held).")
        with connection.cursor() as cursor:
            cursor.execute(RESERVE, {"name": self.name, "interval": self.interval})
            delay = max(0.0, float(cursor.fetchone()[0]))
        if deadline is not None and time.monotonic() + delay > deadline:
            return False
        time.sleep(delay)
        return True

    def push_back(self, seconds: float) -> None:
        """The upstream said 429 / Retry-After: nobody sends before then."""
        with connection.cursor() as cursor:
            cursor.execute(PUSH_BACK, {"name": self.name, "seconds": float(seconds)})
