from datetime import timedelta

from django import template

from invitations.phones import mask_phone as _mask_phone

register = template.Library()


@register.filter
def mask_phone(phone: str) -> str:
    return _mask_phone(phone or "")


@register.filter
def minutes(duration: timedelta | None) -> int:
    """A duration in whole minutes, rounded up (the lock-out page's wait)."""
    if not duration:
        return 0
    return -(-int(duration.total_seconds()) // 60)
