"""Every throttle in one table (Zulip's ``RATE_LIMITING_RULES``): a name, how many, per how many
seconds. Defaults are the product's rules, in code; a deployment changes any of them with one
variable, ``RATE_LIMITS="card_reports_per_customer=3/86400,phone_code_resend=1/30"``."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_RATE_LIMITS = {
    # failed logins (customer pages and admin, django-axes) per account and per address: that
    # many lock it out for that long
    "login_failures": (5, 900),
    # one code per number per this many seconds (the page counts the wait down)
    "phone_code_resend": (1, 60),
    "phone_codes_per_number": (5, 3600),
    "phone_codes_per_address": (20, 3600),  # per IPv4 address or IPv6 /64
    # cards a customer may report (one open report per card besides)
    "card_reports_per_customer": (5, 86400),
    # "check my friends now"
    "check_friends_now": (1, 3600),
    # signed "account opened" events accepted from one sender (address, or IPv6 /64)
    "opening_events_per_sender": (6000, 60),
}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


def rate(name: str) -> Rate:
    count, seconds = settings.RATE_LIMITS[name]
    return Rate(count, seconds)


def parse_rate_limits(text: str) -> dict[str, tuple[int, int]]:
    """The defaults, with the overrides ``name=count/seconds`` (comma-separated) applied. An
    unknown name or a malformed entry stops the start-up."""
    limits = dict(DEFAULT_RATE_LIMITS)
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = entry.partition("=")
        count, _, seconds = value.partition("/")
        if name not in limits or not count.isdigit() or not seconds.isdigit():
            raise ImproperlyConfigured(
                f"RATE_LIMITS: {entry!r} is not name=count/seconds with a name among "
                f"{', '.join(sorted(limits))}"
            )
        limits[name] = (int(count), int(seconds))
    return limits
