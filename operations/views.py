import ipaddress
import secrets

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from referral_site.client_ip import client_ip, networks

from . import health, metrics


@never_cache
@require_GET
def live(request):
    """The process answers."""
    return HttpResponse("ok", content_type="text/plain")


def _answer(checks: list[health.Check]) -> JsonResponse:
    ok = all(check.ok for check in checks)
    body = {
        "status": "ok" if ok else "failing",
        "failing": [check.name for check in checks if not check.ok],
        "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
    }
    return JsonResponse(body, status=200 if ok else 503)


@never_cache
@require_GET
def ready(request):
    return _answer(health.readiness())


@never_cache
@require_GET
def status(request):
    return _answer(health.status(timezone.now()))


def _may_scrape(request) -> bool:
    token = settings.METRICS_TOKEN
    if token and secrets.compare_digest(
        request.headers.get("Authorization", ""), f"Bearer {token}"
    ):
        return True
    # the client's address, X-Forwarded-For believed only from TRUSTED_PROXIES
    address = client_ip(request)
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in networks("METRICS_ALLOWED_NETWORKS"))


@never_cache
@require_GET
def prometheus(request):
    """Prometheus text format, to scrapers on our networks or bearing METRICS_TOKEN."""
    if not _may_scrape(request):
        return HttpResponseForbidden("metrics: not from an allowed network and no valid token\n")
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4")
