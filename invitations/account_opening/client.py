"""Our client of the account-opening service (another team's system; the contract is in
docs/account-opening-api.md).

Every reply is validated strictly: a malformed reply, or one about another phone, is an error,
never a "not opened". Failures come in two kinds: ``RetryableUpstreamError`` (network, timeout,
5xx, 429) and ``InvalidUpstreamReply`` / ``UpstreamRejected`` (terminal for this request).
Either way the caller keeps the invitation pending and tries again later.
"""

import time
from dataclasses import dataclass
from datetime import datetime

import requests
from django.conf import settings
from django.utils.module_loading import import_string

from ..models import AccountChannel
from .rate_limit import SharedRateLimiter

LOOKUP_PATH = "/v1/accounts"
LIMITER_NAME = "account-opening"


@dataclass(frozen=True)
class AccountStatus:
    phone: str
    is_opened: bool
    account_id: str | None = None
    opened_at: datetime | None = None
    channel: str | None = None


class AccountOpeningError(Exception):
    pass


class RetryableUpstreamError(AccountOpeningError):
    pass


class UpstreamRateLimited(RetryableUpstreamError):
    def __init__(self, retry_after: float):
        super().__init__(f"rate limited by the upstream (Retry-After {retry_after:g}s)")
        self.retry_after = retry_after


class UpstreamRejected(AccountOpeningError):
    """The upstream refused the request (4xx other than 429)."""


class InvalidUpstreamReply(AccountOpeningError):
    """The reply does not follow the contract."""


class SlotUnavailable(AccountOpeningError):
    """No rate-limit slot before the caller's deadline; nothing was sent."""


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def parse_reply(phone: str, payload) -> AccountStatus:
    """Validate one lookup reply against the contract; raise ``InvalidUpstreamReply``."""
    if not isinstance(payload, dict):
        raise InvalidUpstreamReply("reply is not a JSON object")
    if payload.get("phone") != phone:
        raise InvalidUpstreamReply("reply is about another phone")
    opened = payload.get("opened")
    if not isinstance(opened, bool):
        raise InvalidUpstreamReply("'opened' is missing or not a boolean")
    if not opened:
        return AccountStatus(phone=phone, is_opened=False)
    account_id, opened_at, channel = (
        payload.get(k) for k in ("account_id", "opened_at", "channel")
    )
    if not isinstance(account_id, str) or not account_id.strip() or len(account_id) > 64:
        raise InvalidUpstreamReply("'account_id' is missing or invalid")
    try:
        opened_time = datetime.fromisoformat(opened_at)
    except (TypeError, ValueError):
        raise InvalidUpstreamReply("'opened_at' is not an ISO 8601 time") from None
    if opened_time.tzinfo is None:
        raise InvalidUpstreamReply("'opened_at' has no time zone")
    if channel not in AccountChannel.values:
        raise InvalidUpstreamReply(f"unknown channel {str(channel)[:20]!r}")
    return AccountStatus(phone, True, account_id.strip(), opened_time, channel)


class HttpAccountOpeningClient:
    """Looks invitees up by phone over HTTP, at no more than the shared rate limit."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        rate: float | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retries: int | None = None,
    ):
        self.base_url = (base_url or settings.ACCOUNT_OPENING_URL).rstrip("/")
        self.limiter = SharedRateLimiter(LIMITER_NAME, rate or settings.ACCOUNT_OPENING_RATE)
        self.timeout = (
            connect_timeout or settings.ACCOUNT_OPENING_CONNECT_TIMEOUT,
            read_timeout or settings.ACCOUNT_OPENING_READ_TIMEOUT,
        )
        self.retries = settings.ACCOUNT_OPENING_RETRIES if retries is None else retries
        self.session = requests.Session()  # pooled keep-alive connections

    def lookup(self, phone: str, *, deadline: float | None = None) -> AccountStatus:
        """Raises ``RetryableUpstreamError`` (after its own retries), ``UpstreamRateLimited``,
        ``UpstreamRejected``, ``InvalidUpstreamReply`` or ``SlotUnavailable``."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._lookup_once(phone, deadline)
            except UpstreamRateLimited as limited:
                # Every worker waits: the shared limiter is pushed past Retry-After.
                self.limiter.push_back(limited.retry_after)
                raise
            except RetryableUpstreamError:
                if attempt > self.retries:
                    raise
                time.sleep(min(0.2 * 2**attempt, 2.0))

    def _lookup_once(self, phone: str, deadline: float | None) -> AccountStatus:
        if not self.limiter.wait_for_slot(deadline):
            raise SlotUnavailable("no rate-limit slot before the cycle's deadline")
        try:
            response = self.session.get(
                self.base_url + LOOKUP_PATH, params={"phone": phone}, timeout=self.timeout
            )
        except requests.Timeout:
            raise RetryableUpstreamError("timed out") from None
        except requests.ConnectionError:
            raise RetryableUpstreamError("connection failed") from None
        if response.status_code == 429:
            raise UpstreamRateLimited(_retry_after(response))
        if response.status_code >= 500:
            raise RetryableUpstreamError(f"upstream error HTTP {response.status_code}")
        if response.status_code != 200:
            raise UpstreamRejected(f"upstream refused the lookup: HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError:
            raise InvalidUpstreamReply("reply is not JSON") from None
        return parse_reply(phone, payload)


def get_client():
    """The client named by ``ACCOUNT_OPENING_CLIENT`` (another upstream contract plugs in here)."""
    return import_string(settings.ACCOUNT_OPENING_CLIENT)()
