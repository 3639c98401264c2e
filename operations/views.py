import ipaddress
import secrets

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.client_ip import client_ip, networks

from . import health, metrics


@never_cache
@require_GET
def live(request):
    """The process answers."""
    return HttpResponse("ok", content_type="text/plain")


def _answer(request, checks: list[health.Check]) -> JsonResponse:
    """The status code and ok / failing to anyone; which checks fail and why (counts of
    critical anomalies, the poller's last cycle, ...) only to staff and to the callers /metrics
    answers (our networks, or METRICS_TOKEN)."""
    failing = [check.name for check in checks if not check.ok and not check.warning]
    body = {"status": "failing" if failing else "ok"}
    if _may_see_details(request):
        body["failing"] = failing
        body["warnings"] = [check.name for check in checks if not check.ok and check.warning]
        body["checks"] = {check.name: {"ok": check.ok, "detail": check.detail} for check in checks}
    return JsonResponse(body, status=503 if failing else 200)


def _may_see_details(request) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    return _may_scrape(request)


@never_cache
@require_GET
def ready(request):
    return _answer(request, health.readiness())


@never_cache
@require_GET
def status(request):
    return _answer(request, health.status(timezone.now()))


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
