"""``POST /hooks/account-opened``: signed events from the account-opening system
(docs/account-opening-api.md). Answers at once (the lookup happens in the worker cluster):

- 200 ``accepted`` (also for a phone nobody invited: nothing is stored, nothing is told),
  ``duplicate`` (the id was taken before) or ``ignored`` (another event type);
- 400 a malformed request or body, 401 a signature or timestamp refused, 413 a body over
  ``ACCOUNT_OPENING_EVENT_MAX_BYTES`` (unread), 429 the sender over its rate, with Retry-After;
- 503 the endpoint off (no secret configured) or the database away, with Retry-After: the sender
  retries, nothing is lost.

No phone number is ever logged."""

import logging

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from account_opening.events import EventRefused, verify
from core.client_ip import client_ip, throttle_key
from core.throttles import rate

from .services.opening_events import THROTTLED, count_event, take_opening_event

logger = logging.getLogger(__name__)


def _answer(status: int, outcome: str, detail: str = "", retry_after: int | None = None):
    response = JsonResponse({"outcome": outcome, **({"detail": detail} if detail else {})})
    response.status_code = status
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@csrf_exempt
@require_POST
def account_opened(request):
    if not settings.ACCOUNT_OPENING_WEBHOOK_SECRETS:
        return _answer(503, "off", "no secret is configured", retry_after=300)
    limit = settings.ACCOUNT_OPENING_EVENT_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _answer(400, "refused_headers", "Content-Length is not a number")
    if declared > limit:
        return _refused(413, "too_large", f"the body is over {limit} bytes")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _refused(413, "too_large", f"the body is over {limit} bytes")
    try:
        event = verify(body, request.headers)
    except EventRefused as refused:
        status = 401 if refused.reason in ("signature", "timestamp") else 400
        return _refused(status, f"refused_{refused.reason}", str(refused))
    sender = throttle_key(client_ip(request)) or "unknown"
    try:
        outcome = take_opening_event(event, sender)
        count_event(outcome)
    except DatabaseError:
        logger.warning(
            "opening event %s: the database is away, the sender will retry", event.event_id
        )
        close_old_connections()
        return _answer(503, "unavailable", "try again", retry_after=5)
    if outcome == THROTTLED:
        return _answer(429, outcome, retry_after=rate("opening_events_per_sender").seconds)
    return _answer(200, outcome)


def _refused(status: int, outcome: str, detail: str):
    try:
        count_event(outcome)
    except DatabaseError:  # the refusal stands; only its count is lost
        close_old_connections()
    return _answer(status, outcome, detail)
