"""Quiet hours: when nothing is sent by SMS or push (``QUIET_HOURS`` in ``QUIET_HOURS_ZONE``),
and the start of a person's day for the daily limit. Pure: the clock is an argument."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings


def parse(value: str) -> tuple[time, time] | None:
    """``"21:00-08:00"`` as two times; an empty value is None (no quiet hours). Raises
    ``ValueError`` saying what is wrong."""
    if not value.strip():
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        raise ValueError(
            f"QUIET_HOURS must look like 21:00-08:00 (or be empty), not {value!r}"
        ) from None
    return start, end


def held_until(now: datetime, hours: tuple[time, time] | None, zone: str) -> datetime | None:
    """The end of the quiet hours ``now`` falls in, or None when it falls in none."""
    if hours is None:
        return None
    start, end = hours
    local = now.astimezone(ZoneInfo(zone))
    at = local.timetz().replace(tzinfo=None)
    overnight = start > end
    inside = (at >= start or at < end) if overnight else (start <= at < end)
    if not inside:
        return None
    day = local.date() if (not overnight or at < end) else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=ZoneInfo(zone))


def quiet_until(now: datetime) -> datetime | None:
    return held_until(now, parse(settings.QUIET_HOURS), settings.QUIET_HOURS_ZONE)


def start_of_day(now: datetime) -> datetime:
    """Midnight of ``now``'s day where the customers live (the daily limit's day)."""
    local = now.astimezone(ZoneInfo(settings.QUIET_HOURS_ZONE))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)
