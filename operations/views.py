from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import health


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
