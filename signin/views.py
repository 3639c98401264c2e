"""``/enter?token=<JWT>&next=/me/``: the brokerage app opens the referral pages signed in."""

import logging
from base64 import b32encode

import segno
from django.contrib import admin
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.navigation import own_page

from . import handoff, services
from .staff import RECOVERY_CODES

logger = logging.getLogger(__name__)


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
        target = own_page(request.GET.get("next", "")) or reverse("rewards:home")
        response = redirect(target)  # the token leaves the address bar at once
    response["Referrer-Policy"] = "no-referrer"
    return response


ENROLLING = "second_factor_device"  # the id of the device being enrolled, in the session


@never_cache
@login_required(login_url="admin:login")
@require_http_methods(["GET", "POST"])
def second_factor(request):
    """Staff enrol their authenticator app: scan the code, type the 6 digits it shows; then the
    recovery codes are shown, once. The session is verified from then on. Someone who has a
    device (an authenticator, or recovery codes left) must have signed in with it first: a
    password alone never enrols a new one."""
    user = request.user
    if not user.is_staff:
        raise PermissionDenied
    page = admin.site.each_context(request)  # the admin's header and links
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return render(request, "signin/second_factor.html", {**page, "enrolled": True})
    if user_has_device(user, confirmed=True) and not user.is_verified():
        return render(
            request, "signin/second_factor.html", {**page, "verify_first": True}, status=403
        )
    device = None
    if request.method == "POST":
        device = TOTPDevice.objects.filter(
            pk=request.session.get(ENROLLING), user=user, confirmed=False
        ).first()
    if device is None or request.method == "GET":
        # a new key every time the page is shown: a key someone else saw is never confirmed
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
        request.session[ENROLLING] = device.pk
    error = ""
    if request.method == "POST":
        allowed, _extra = device.verify_is_allowed()
        if allowed and device.verify_token((request.POST.get("token") or "").strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _recovery_codes(user)
            otp_login(request, device)
            request.session.pop(ENROLLING, None)
            return render(request, "signin/second_factor.html", {**page, "codes": codes})
        error = _(
            "That code is not right. Check the time on your phone and type the code shown now."
        )
    context = {
        **page,
        "qr": segno.make(device.config_url, error="m").svg_inline(scale=4),
        "secret": b32encode(device.bin_key).decode(),
        "error": error,
    }
    return render(request, "signin/second_factor.html", context)


def _recovery_codes(user) -> list[str]:
    """Ten new one-time recovery codes (any earlier ones stop working)."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes
