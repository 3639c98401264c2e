from django import template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..selectors import review_desk

register = template.Library()


@register.simple_tag
def review_desk_figures() -> dict:
    return review_desk(timezone.now())


@register.filter
def at_most(count: int, limit: int) -> str:
    """A bounded count as staff read it: "10,000+" past the limit."""
    return f"{limit:,}+" if count > limit else f"{count:,}"


@register.filter
def timedelta_minutes(age) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return _("less than a minute ago")
    return ngettext("%(minutes)d minute ago", "%(minutes)d minutes ago", minutes) % {
        "minutes": minutes
    }
