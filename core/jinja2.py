"""The Jinja2 environment of the customer pages (``jinja2/``; the admin keeps Django's
templates). Jinja2 compiles each template to Python once: a page of 20 rewards renders in
about 40% of the Django template language's time (docs/benchmarks.md, section 5b).

Texts keep the Django template language's meaning and their msgids, so ``makemessages`` finds
them and the translations stay: ``{{ _("...") }}`` is ``{% translate "..." %}`` (the
translation is trusted markup), and ``{{ _("Reward %(no)s")|fill(no=...) }}`` is
``{% blocktranslate with no=... %}`` (the values are escaped)."""

from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.template.backends.utils import csrf_input
from django.template.defaultfilters import floatformat, linebreaksbr
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.translation import get_language, get_language_info, gettext, ngettext
from markupsafe import Markup

from jinja2 import Environment

from .privacy import mask_phone


@lru_cache(maxsize=4096)
def _translated(language: str, message: str) -> Markup:
    return Markup(gettext(message))  # noqa: S704  (our translators' text, as {% translate %})


def _(message: str) -> Markup:
    """``{% translate %}``, remembered per language and process (a page asks for 100-300)."""
    return _translated(get_language(), message)


def fill(text: str, **values) -> Markup:
    """A translated text's ``%(name)s`` placeholders, the values escaped."""
    return Markup(text) % values  # noqa: S704  (Markup's % escapes the values)


@lru_cache(maxsize=10_000)
def _reverse(prefix: str, name: str, args: tuple) -> str:
    return reverse(name, args=args or None)


def url(name: str, *args) -> str:
    """``{% url %}``, remembered per process: a page of 20 rewards names 45 addresses."""
    return _reverse(get_script_prefix(), name, args)


# Django's date formats the pages use, as strftime (without the dateformat machinery).
_STRFTIME = {"Y-m-d": "%Y-%m-%d", "Y-m-d H:i": "%Y-%m-%d %H:%M"}


def date(value, pattern: str = "Y-m-d") -> str:
    """Django's ``date`` filter: an aware datetime is shown in the current time zone."""
    if value is None:
        return ""
    if getattr(value, "tzinfo", None) is not None:
        value = timezone.localtime(value)
    if pattern in _STRFTIME:
        return value.strftime(_STRFTIME[pattern])
    return format_date(value, pattern)


def languages() -> list[dict]:
    return [get_language_info(code) for code, _name in settings.LANGUAGES]


def lockout_wait(duration: timedelta | None) -> str:
    """The lock-out page's wait, in whole minutes rounded up."""
    minutes = -(-int(duration.total_seconds()) // 60) if duration else 0
    return ngettext(
        "For your security, logging in is paused for a while after several wrong passwords. "
        "Please try again in %(minutes)s minute.",
        "For your security, logging in is paused for a while after several wrong passwords. "
        "Please try again in %(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}


def csrf_once(request) -> dict:
    """A context processor: the CSRF field masked once per page. The backend's own
    ``csrf_input`` masks the token again each time it is written (42 times on a page of 20
    rewards: a third of its rendering)."""
    return {"csrf_input": csrf_input(request)}


def environment(**options) -> Environment:
    env = Environment(**options)  # noqa: S701  (Django's backend passes autoescape=True)
    env.globals.update(
        {
            "_": _,
            "url": url,
            "static": static,
            "get_language": get_language,
            "languages": languages,
            "lockout_wait": lockout_wait,
        }
    )
    env.filters.update(
        {
            "date": date,
            "fill": fill,
            "floatformat": floatformat,
            "linebreaksbr": lambda text: linebreaksbr(text, autoescape=True),
            "mask_phone": lambda phone: mask_phone(phone or ""),
        }
    )
    return env
