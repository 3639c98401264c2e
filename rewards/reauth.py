"""When a login is fresh enough to show a card's password (``REVEAL_REAUTH_MINUTES``)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone

SESSION_KEY = "authenticated_at"


def mark_authenticated(request) -> None:
    request.session[SESSION_KEY] = timezone.now().isoformat()


def needs_password_again(request) -> bool:
    stamp = request.session.get(SESSION_KEY)
    if not stamp:
        return True
    try:
        since = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return True
    return timezone.now() - since > timedelta(minutes=settings.REVEAL_REAUTH_MINUTES)


@receiver(user_logged_in)
def _stamp_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        mark_authenticated(request)
