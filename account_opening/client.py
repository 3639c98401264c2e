"""Our client of the account-opening service (another team's system; the contract is in
docs/account-opening-api.md).

Every reply is validated strictly: a malformed reply, or one about another phone, is an error,
never a "not opened". Failures come in two kinds: ``RetryableUpstreamError`` (network, timeout,
5xx, 429) and ``InvalidUpstreamReply`` / ``UpstreamRejected`` (terminal for this request).
Either way the caller keeps the invitation pending and tries again later.
"""

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime

import requests
import urllib3
from django.conf import settings
from django.utils.module_loading import import_string
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from core.backoff import doubling
from core.outbound import refuse_inside_transaction
from core.rate_limit import SharedRateLimiter, clamp_seconds

from .contract import AMOUNT, CHANNELS

LOOKUP_PATH = "/v1/accounts"
LIMITER_NAME = "account-opening"
DEFAULT_RETRY_AFTER = 1.0  # seconds, when a 429 says nothing we can read
# Everything the transport can raise for a broken reply. requests wraps most of them, but not
# all (reading a streamed body can surface urllib3's own errors, a socket can raise OSError).
TRANSPORT_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


@dataclass(frozen=True)
class AccountStatus:
    phone: str
    is_opened: bool
    account_id: str | None = None
    opened_at: datetime | None = None
    channel: str | None = None
    funded_at: datetime | None = None  # the first deposit, when the upstream says there is one
    first_deposit: Decimal | None = None  # yuan


class AccountOpeningError(Exception):
    pass


class RetryableUpstreamError(AccountOpeningError):
    pass


class UpstreamRateLimited(RetryableUpstreamError):
    def __init__(self, retry_after: float):
        super().__init__(f"rate limited by the upstream (Retry-After {retry_after:g}s)")
        self.retry_after = retry_after


class UpstreamRejected(AccountOpeningError):
    """The upstream refused the request (4xx other than 429, or a redirect)."""


class InvalidUpstreamReply(AccountOpeningError):
    """The reply does not follow the contract."""


class SlotUnavailable(AccountOpeningError):
    """No rate-limit slot before the caller's deadline; nothing was sent."""


def parse_retry_after(value: str | None, *, cap: float) -> float:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP-date), within
    [0, cap]. A value that is neither means the default. The header is the upstream's word, not
    an order: one reply of "86400000" must not stop every worker for 1,000 days."""
    text = (value or "").strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            when = None
        if when is None:
            return min(DEFAULT_RETRY_AFTER, cap)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return clamp_seconds(seconds, cap)


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
    if (
        not isinstance(account_id, str)
        or not account_id.strip()
        or len(account_id) > 64
        or not account_id.isprintable()
    ):
        raise InvalidUpstreamReply("'account_id' is missing or invalid")
    opened_time = _aware_time(opened_at, "opened_at")
    if channel not in CHANNELS:
        raise InvalidUpstreamReply(f"unknown channel {str(channel)[:20]!r}")
    funded_at, first_deposit = _first_deposit(payload, opened_time)
    return AccountStatus(
        phone, True, account_id.strip(), opened_time, channel, funded_at, first_deposit
    )


def _aware_time(value, name: str) -> datetime:
    """The reply's ``name``, an ISO 8601 time with its zone; raise ``InvalidUpstreamReply``."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidUpstreamReply(f"'{name}' is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise InvalidUpstreamReply(f"'{name}' has no time zone")
    return parsed


def _first_deposit(payload: dict, opened_at: datetime) -> tuple[datetime | None, Decimal | None]:
    """The reply's first deposit (``first_deposit_at``, ``first_deposit_amount``: both, or
    neither for an account not funded yet); raise ``InvalidUpstreamReply``."""
    at, amount = payload.get("first_deposit_at"), payload.get("first_deposit_amount")
    if at is None and amount is None:
        return None, None
    funded_at = _aware_time(at, "first_deposit_at")
    if funded_at < opened_at:
        raise InvalidUpstreamReply("'first_deposit_at' is before the account was opened")
    # yuan as a JSON string with at most two decimals: a float would round money
    if not isinstance(amount, str) or not AMOUNT.fullmatch(amount):
        raise InvalidUpstreamReply("'first_deposit_amount' is not a yuan amount like \"1000.00\"")
    return funded_at, Decimal(amount)


def parse_body(phone: str, body: bytes) -> AccountStatus:
    """Decode and validate a lookup reply's body; raise ``InvalidUpstreamReply``."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise InvalidUpstreamReply("reply is not JSON") from None
    except RecursionError:
        raise InvalidUpstreamReply("reply is not JSON we accept (nested too deeply)") from None
    return parse_reply(phone, payload)


# --- a deadline for the whole request ------------------------------------------------------
# requests' timeouts apply to each socket operation, so a reply that sends one byte every few
# seconds never times out. A watchdog timer cuts the socket of the request in flight on its
# thread when the request's total time is up, whichever phase it is in (headers or body).
_in_flight = threading.local()


class Watchdog:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.fired = False
        self.sock = None
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        self.cut()

    def cut(self) -> None:
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked in another thread
            except OSError:
                pass

    def __enter__(self) -> "Watchdog":
        _in_flight.watchdog = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()
        _in_flight.watchdog = None


class _WatchedConnectionMixin:
    """Hands the socket of this thread's request to its watchdog once the request is sent (the
    connection may drop its own reference while the response is read: HTTP/1.0 replies)."""

    def getresponse(self, *args, **kwargs):
        watchdog = getattr(_in_flight, "watchdog", None)
        if watchdog is not None:
            watchdog.sock = self.sock
            if watchdog.fired:  # it fired while we were connecting or sending
                watchdog.cut()
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPConnection(_WatchedConnectionMixin, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnectionMixin, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


class HttpAccountOpeningClient:
    """Looks invitees up by phone over HTTP, at no more than the shared rate limit.

    Whatever the upstream does, a lookup ends within ``total_timeout`` seconds (connect, headers
    and body together), reads at most ``max_body_bytes``, and fails only with an
    ``AccountOpeningError``."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        rate: float | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        total_timeout: float | None = None,
        retries: int | None = None,
    ):
        self.base_url = (base_url or settings.ACCOUNT_OPENING_URL).rstrip("/")
        # our share of the upstream's limit: other consumers keep theirs, and the spare slot
        # absorbs the jitter of a send delayed past its slot into the next one's second
        share = settings.ACCOUNT_OPENING_BUDGET_SHARE
        self.limiter = SharedRateLimiter(
            LIMITER_NAME,
            (rate or settings.ACCOUNT_OPENING_RATE) * share,
            cap=settings.ACCOUNT_OPENING_MAX_RETRY_AFTER_SECONDS,
        )
        self.total_timeout = total_timeout or settings.ACCOUNT_OPENING_TOTAL_TIMEOUT
        self.timeout = (
            connect_timeout or settings.ACCOUNT_OPENING_CONNECT_TIMEOUT,
            min(read_timeout or settings.ACCOUNT_OPENING_READ_TIMEOUT, self.total_timeout),
        )
        self.max_body_bytes = settings.ACCOUNT_OPENING_MAX_BODY_BYTES
        self.retries = settings.ACCOUNT_OPENING_RETRIES if retries is None else retries
        self.session = requests.Session()  # pooled keep-alive connections
        self.session.mount("http://", WatchedAdapter())
        self.session.mount("https://", WatchedAdapter())
        # Compressed bodies are refused (a small gzip can expand without bound).
        self.session.headers["Accept-Encoding"] = "identity"

    def lookup(self, phone: str, *, deadline: float | None = None) -> AccountStatus:
        """Raises ``RetryableUpstreamError`` (after its own retries), ``UpstreamRateLimited``,
        ``UpstreamRejected``, ``InvalidUpstreamReply`` or ``SlotUnavailable``."""
        refuse_inside_transaction("an account-opening lookup")  # it may wait seconds
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._lookup_once(phone, deadline)
            except UpstreamRateLimited as limited:
                # Every worker waits: the shared limiter is pushed past Retry-After (capped).
                self.limiter.push_back(limited.retry_after)
                raise
            except RetryableUpstreamError:
                if attempt > self.retries:
                    raise
                time.sleep(doubling(attempt + 1, 0.2, 2.0))

    def _lookup_once(self, phone: str, deadline: float | None) -> AccountStatus:
        if not self.limiter.wait_for_slot(deadline):
            raise SlotUnavailable("no rate-limit slot before the cycle's deadline")
        too_slow = RetryableUpstreamError(f"no complete reply within {self.total_timeout:g}s")
        with Watchdog(self.total_timeout) as watchdog:
            try:
                status, headers, body = self._exchange(phone)
            except requests.Timeout:
                raise RetryableUpstreamError("timed out") from None
            except TRANSPORT_ERRORS as error:
                if watchdog.fired:
                    raise too_slow from None
                if isinstance(error, requests.ConnectionError):
                    raise RetryableUpstreamError("connection failed") from None
                raise RetryableUpstreamError(f"broken reply: {type(error).__name__}") from None
            if watchdog.fired:
                # A cut socket reads as the end of the message: headers cut short parse as a
                # complete (empty) reply, and so does a body without a Content-Length.
                raise too_slow
        if status == 429:
            cap = self.limiter.cap
            raise UpstreamRateLimited(parse_retry_after(headers.get("Retry-After"), cap=cap))
        if status >= 500:
            raise RetryableUpstreamError(f"upstream error HTTP {status}")
        if status != 200:
            raise UpstreamRejected(f"upstream refused the lookup: HTTP {status}")
        return parse_body(phone, body)

    def _exchange(self, phone: str) -> tuple[int, dict, bytes]:
        """One GET, its body read in streaming mode up to the size limit."""
        response = self.session.get(
            self.base_url + LOOKUP_PATH,
            params={"phone": phone},
            timeout=self.timeout,
            stream=True,
            allow_redirects=False,  # a redirect could send the next request anywhere
        )
        with response:
            if response.status_code != 200:
                return response.status_code, response.headers, b""
            encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
            if encoding not in ("", "identity"):
                raise InvalidUpstreamReply(f"reply is compressed ({encoding[:20]!r})")
            too_large = InvalidUpstreamReply(f"reply larger than {self.max_body_bytes} bytes")
            declared = response.headers.get("Content-Length", "")
            # isascii: "²" passes isdigit() and makes int() raise
            if declared.isascii() and declared.isdigit() and int(declared) > self.max_body_bytes:
                raise too_large
            body = bytearray()
            for chunk in response.iter_content(chunk_size=8192):
                body += chunk
                if len(body) > self.max_body_bytes:
                    raise too_large
            return response.status_code, response.headers, bytes(body)


def get_client():
    """The client named by ``ACCOUNT_OPENING_CLIENT`` (another upstream contract plugs in here)."""
    return import_string(settings.ACCOUNT_OPENING_CLIENT)()
