"""``/enter?token=<JWT>&next=/me/``: the brokerage app opens the referral pages signed in."""

import logging

from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import handoff, services

logger = logging.getLogger(__name__)


def _next(request) -> str:
    """Only a page of ours, by its path (never another site, never a scheme-relative URL)."""
    target = request.GET.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts=None, require_https=request.is_secure()
    ):
        return target
    return reverse("rewards:home")


@never_cache
@require_GET
def enter(request):
    try:
        user = services.enter(handoff.verify(request.GET.get("token", "")))
    except handoff.HandoffRefused as refusal:
        logger.warning("app hand-off refused: %s", refusal.why)  # the reason, never the token
        response = render(request, "signin/refused.html", status=403)
    else:
        # a fresh session (Django's login cycles the key): a session id planted before is void
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        response = redirect(_next(request))  # the token leaves the address bar at once
    response["Referrer-Policy"] = "no-referrer"
    return response
