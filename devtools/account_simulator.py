"""A stand-in for the other team's account-opening service, as a real HTTP server.

It knows accounts opened through every channel (one-click login included: the channel the old
lookup missed), answers lookups by phone only, enforces a rate limit (429 with Retry-After), can
add latency and inject faults, and reports what it saw at ``GET /_sim/stats``.
No database: it is a separate system.
"""

import csv
import html
import io
import json
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from django.utils import timezone

from account_opening.contract import AMOUNT, CHANNELS, PHONE

from .event_sender import EventSender, EventSettings

FAULTS = (
    "timeout",
    "error500",
    "rate_limited",
    "malformed",
    "wrong_phone",
    "unknown_channel",
    "disconnect",
    # Hostile replies a shared upstream has been seen to give (issue: the poller must survive).
    "retry_after_huge",  # 429 with Retry-After: 86400000 (1,000 days)
    "truncated",  # Content-Length promises more than is sent, then the connection closes
    "drip",  # a valid reply, one byte every --drip-seconds
    "drip_headers",  # the status line, then the headers one byte every --drip-seconds
    "huge_body",  # 100 MB of a valid reply padded with spaces, no Content-Length
    "future_opened_at",  # opened, three days from now
    "epoch_opened_at",  # opened at 1970-01-01, a null date in disguise
    "redirect",  # 302 to another address
)
HUGE_BODY_BYTES = 100 * 1024 * 1024
RANDOM_FAULTS = ("timeout", "error500", "malformed")


# The simulator's pages on a phone (the demo opens them from the invitee's page): one column,
# nothing wider than the screen, touch targets of 44 px.
PAGE_HEAD = """<!doctype html><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;padding:1rem;max-width:30rem}
label{display:block;margin:.8rem 0}input,select,button{display:block;width:100%;min-height:44px;
font:inherit;margin-top:.3rem;box-sizing:border-box}button{margin-top:1rem}</style>"""


class BadAccount(ValueError):
    pass


def validate_account(record: dict) -> dict:
    phone = str(record.get("phone", "")).strip()
    account_id = str(record.get("account_id", "")).strip()
    channel = str(record.get("channel", "")).strip()
    if not phone or not account_id:
        raise BadAccount("phone and account_id are required")
    if not PHONE.fullmatch(phone):
        raise BadAccount(
            f"phone {phone[:40]!r} is not 11 ASCII digits from 1 (the contract's normalized"
            " number: no spaces, prefix, full-width or other digits)"
        )
    if channel not in CHANNELS:
        raise BadAccount(f"unknown channel {channel!r}; known: {', '.join(CHANNELS)}")
    opened_at = record.get("opened_at") or timezone.now().isoformat()
    try:
        parsed = datetime.fromisoformat(str(opened_at))
    except ValueError:
        raise BadAccount(f"opened_at {opened_at!r} is not ISO 8601") from None
    if parsed.tzinfo is None:
        raise BadAccount("opened_at needs a time zone")
    account = {
        "phone": phone,
        "account_id": account_id,
        "opened_at": parsed.isoformat(),
        "channel": channel,
    }
    if record.get("first_deposit_at") or record.get("first_deposit_amount"):
        account.update(validate_deposit(record, parsed))
    return account


def validate_deposit(record: dict, opened_at: datetime) -> dict:
    """The first deposit of an account (``first_deposit_amount`` in yuan as a string, at
    ``first_deposit_at`` or now), as the contract says it."""
    amount = str(record.get("first_deposit_amount", "")).strip()
    if not AMOUNT.fullmatch(amount) or Decimal(amount) <= 0:
        raise BadAccount(f"first_deposit_amount {amount[:20]!r} is not a yuan amount like 1000.00")
    at = record.get("first_deposit_at") or timezone.now().isoformat()
    try:
        funded_at = datetime.fromisoformat(str(at))
    except ValueError:
        raise BadAccount(f"first_deposit_at {at!r} is not ISO 8601") from None
    if funded_at.tzinfo is None or funded_at < opened_at:
        raise BadAccount("first_deposit_at needs a time zone and comes after the opening")
    return {"first_deposit_at": funded_at.isoformat(), "first_deposit_amount": amount}


def load_accounts(text: str) -> list[dict]:
    """Accounts from CSV (``phone,account_id,opened_at,channel``) or a JSON list."""
    stripped = text.lstrip("\ufeff").strip()
    if not stripped:
        return []
    if stripped.startswith("["):
        records = json.loads(stripped)
    else:
        records = list(csv.DictReader(io.StringIO(stripped)))
    return [validate_account(record) for record in records]


@dataclass
class SimulatorState:
    rate: float = 5.0
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    timeout_seconds: float = 10.0
    drip_seconds: float = 0.2
    accounts: dict = field(default_factory=dict)
    targeted_faults: dict = field(default_factory=dict)  # phone -> [fault, remaining]
    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: deque = field(default_factory=deque)  # times of requests let through (last 1 s)
    arrivals: deque = field(default_factory=deque)  # times of every lookup request (last 1 s)
    served: int = 0
    rate_limited: int = 0
    max_per_second: int = 0
    events: EventSender = field(default_factory=lambda: EventSender(EventSettings()))

    def admit(self) -> bool:
        """Count an arrival; False when it exceeds the rate limit (sliding one-second window)."""
        now = time.monotonic()
        with self.lock:
            for window in (self.accepted, self.arrivals):
                while window and window[0] <= now - 1.0:
                    window.popleft()
            self.arrivals.append(now)
            self.max_per_second = max(self.max_per_second, len(self.arrivals))
            if len(self.accepted) >= self.rate:
                self.rate_limited += 1
                return False
            self.accepted.append(now)
            self.served += 1
            return True

    def fault_for(self, phone: str) -> str | None:
        with self.lock:
            targeted = self.targeted_faults.get(phone)
            if targeted:
                targeted[1] -= 1
                if targeted[1] <= 0:
                    del self.targeted_faults[phone]
                return targeted[0]
        if self.fault_rate and random.random() < self.fault_rate:
            return random.choice(RANDOM_FAULTS)
        return None

    def stats(self) -> dict:
        with self.lock:
            return {
                "requests_served": self.served,
                "rate_limited": self.rate_limited,
                "max_requests_in_one_second": self.max_per_second,
                "rate_limit": self.rate,
                "accounts": len(self.accounts),
                "events": self.events.snapshot(),
            }

    def reset_stats(self) -> None:
        with self.lock:
            self.served = self.rate_limited = self.max_per_second = 0
            self.accepted.clear()
            self.arrivals.clear()


class SimulatorHandler(BaseHTTPRequestHandler):
    server_version = "AccountOpeningSimulator/1"
    state: SimulatorState  # set on the class made by make_server

    def log_message(self, format, *args):  # quiet: tests and the demo read stats instead
        pass

    def _reply(self, status: int, body, headers: dict | None = None, raw: bool = False) -> None:
        data = body if raw else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8" if raw else "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/v1/accounts":
            return self._lookup(query.get("phone", [""])[0])
        if url.path == "/_sim/stats":
            return self._reply(200, self.state.stats())
        if url.path == "/open-account":
            return self._open_account_page(query.get("phone", [""])[0])
        if url.path == "/deposit":
            return self._deposit_page(query.get("phone", [""])[0])
        return self._reply(404, {"error": "not found"})

    def do_POST(self):
        url = urlparse(self.path)
        if url.path == "/_sim/accounts":
            return self._add_accounts(self._body())
        if url.path == "/_sim/faults":
            return self._add_fault(self._body())
        if url.path == "/_sim/deposits":
            return self._deposit(self._body())
        if url.path == "/deposit":
            form = parse_qs(self._body().decode())
            record = {key: form.get(key, [""])[0] for key in ("phone", "first_deposit_amount")}
            return self._deposit(json.dumps(record).encode(), page=True)
        if url.path == "/_sim/reset":
            self.state.reset_stats()
            return self._reply(200, self.state.stats())
        if url.path == "/open-account":
            form = parse_qs(self._body().decode())
            record = {
                "phone": form.get("phone", [""])[0],
                "account_id": f"SIM{int(time.time() * 1000) % 10**10:010d}",
                "channel": form.get("channel", ["app"])[0],
            }
            return self._add_accounts(json.dumps(record).encode(), page=True)
        return self._reply(404, {"error": "not found"})

    def _lookup(self, phone: str) -> None:
        state = self.state
        if not state.admit():
            return self._reply(429, {"error": "rate limited"}, {"Retry-After": "1"})
        if state.latency_ms:
            time.sleep(state.latency_ms / 1000 * random.uniform(0.5, 1.5))
        fault = state.fault_for(phone)
        if fault == "timeout":
            time.sleep(state.timeout_seconds)
        elif fault == "disconnect":
            self.close_connection = True
            self.connection.shutdown(2)
            return None
        elif fault == "error500":
            return self._reply(500, {"error": "internal error"})
        elif fault == "rate_limited":
            return self._reply(429, {"error": "rate limited"}, {"Retry-After": "2"})
        elif fault == "malformed":
            return self._reply(200, b'{"phone": "' + phone.encode() + b'", "opened": tru', raw=True)
        elif fault == "retry_after_huge":
            return self._reply(429, {"error": "rate limited"}, {"Retry-After": "86400000"})
        elif fault == "redirect":
            return self._reply(302, {}, {"Location": "http://127.0.0.1:9/v1/accounts"})
        elif fault in ("truncated", "drip", "huge_body"):
            return self._hostile_body(fault, phone)
        elif fault == "drip_headers":
            return self._drip_headers()
        account = state.accounts.get(phone)
        reply = {"phone": phone, "opened": account is not None}
        if account:
            reply.update({key: account[key] for key in ("account_id", "opened_at", "channel")})
            if "first_deposit_at" in account:
                reply.update(
                    {key: account[key] for key in ("first_deposit_at", "first_deposit_amount")}
                )
        if fault == "wrong_phone":
            reply["phone"] = "13900000000" if phone != "13900000000" else "13900000001"
        elif fault in ("future_opened_at", "epoch_opened_at"):
            when = (
                timezone.now() + timedelta(days=3)
                if fault == "future_opened_at"
                else datetime(1970, 1, 1, tzinfo=UTC)
            )
            reply.update(
                opened=True,
                account_id=f"F{phone}",
                opened_at=when.isoformat(),
                channel="app",
            )
        elif fault == "unknown_channel":
            reply.update(
                opened=True,
                account_id="X1",
                opened_at=timezone.now().isoformat(),
                channel="carrier_pigeon",
            )
        return self._reply(200, reply)

    def _hostile_body(self, fault: str, phone: str) -> None:
        body = json.dumps({"phone": phone, "opened": False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if fault == "truncated":
            self.send_header("Content-Length", str(len(body) + 100))
        elif fault == "drip":
            body += b" " * 200  # 200 more bytes: a long wait at one byte per drip
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()  # huge_body: no length, the body ends when the connection closes
        try:
            if fault == "truncated":
                self.wfile.write(body[: len(body) // 2])
            elif fault == "drip":
                for index in range(len(body)):
                    self.wfile.write(body[index : index + 1])
                    self.wfile.flush()
                    time.sleep(self.state.drip_seconds)
            else:
                self.wfile.write(body)
                padding = b" " * (1024 * 1024)
                for _ in range(HUGE_BODY_BYTES // len(padding)):
                    self.wfile.write(padding)
        except OSError:  # the client hung up, as it should
            pass
        self.close_connection = True

    def _drip_headers(self) -> None:
        self.close_connection = True
        try:
            self.wfile.write(b"HTTP/1.0 200 OK\r\n")
            for byte in b"X-Slow: " + b"a" * 200:
                self.wfile.write(bytes([byte]))
                time.sleep(self.state.drip_seconds)
        except OSError:  # the client hung up, as it should
            pass

    def _add_accounts(self, body: bytes, page: bool = False) -> None:
        try:
            payload = json.loads(body or b"null")
            records = payload if isinstance(payload, list) else [payload]
            accounts = [validate_account(record) for record in records]
        except (ValueError, BadAccount, AttributeError) as error:
            if page:
                text = f"{PAGE_HEAD}<p>Cannot open the account: {html.escape(str(error))}</p>"
                return self._reply(400, text.encode(), raw=True)
            return self._reply(400, {"error": str(error)})
        with self.state.lock:
            for account in accounts:
                self.state.accounts[account["phone"]] = account
        for account in accounts:  # as the account-opening system tells its subscribers
            self.state.events.account_opened(account)
        if page:
            phone = html.escape(accounts[0]["phone"])
            text = f"{PAGE_HEAD}<h1>Account opened</h1><p>{phone}: welcome aboard.</p>"
            return self._reply(200, (text + _deposit_form(phone)).encode(), raw=True)
        return self._reply(201, {"added": len(accounts)})

    def _deposit(self, body: bytes, page: bool = False) -> None:
        """An account's first deposit (``{phone, first_deposit_amount, first_deposit_at?}``):
        recorded once (a later deposit is not the first) and told as an "account funded"
        event."""
        try:
            payload = json.loads(body or b"null")
            phone = str(payload.get("phone", ""))
            with self.state.lock:
                account = self.state.accounts.get(phone)
                if account is None:
                    raise BadAccount(f"no account for {phone[:20]!r}: open one first")
                first = "first_deposit_at" not in account
                if first:
                    opened_at = datetime.fromisoformat(account["opened_at"])
                    account.update(validate_deposit(payload, opened_at))
        except (ValueError, BadAccount, AttributeError) as error:
            if page:
                text = f"{PAGE_HEAD}<p>Cannot deposit: {html.escape(str(error))}</p>"
                return self._reply(400, text.encode(), raw=True)
            return self._reply(400, {"error": str(error)})
        if first:
            self.state.events.account_funded(account)
        if page:
            text = f"{PAGE_HEAD}<h1>Deposit received</h1><p>{html.escape(phone)}: thank you.</p>"
            return self._reply(200, text.encode(), raw=True)
        return self._reply(201, {"phone": phone, "first": first})

    def _add_fault(self, body: bytes) -> None:
        try:
            payload = json.loads(body)
            fault, phone = payload["fault"], payload["phone"]
            times = int(payload.get("times", 1))
        except (ValueError, KeyError, TypeError):
            return self._reply(400, {"error": "expected {phone, fault, times}"})
        if fault not in FAULTS:
            return self._reply(400, {"error": f"fault must be one of {', '.join(FAULTS)}"})
        with self.state.lock:
            if times > 0:
                self.state.targeted_faults[phone] = [fault, times]
            else:  # times 0 clears the phone's fault
                self.state.targeted_faults.pop(phone, None)
        return self._reply(201, {"phone": phone, "fault": fault, "times": times})

    def _deposit_page(self, phone: str) -> None:
        page = f"""{PAGE_HEAD}<title>First deposit (simulator)</title>
<h1>Fund your account</h1>{_deposit_form(html.escape(phone), with_phone=True)}"""
        return self._reply(200, page.encode(), raw=True)

    def _open_account_page(self, phone: str) -> None:
        options = "".join(
            f'<option value="{value}">{label}</option>' for value, label in CHANNELS.items()
        )
        page = f"""{PAGE_HEAD}<title>Open an account (simulator)</title>
<h1>Open a brokerage account</h1>
<p>This page stands in for the brokerage's account-opening system.</p>
<form method="post"><label>Phone <input name="phone" value="{html.escape(phone)}"
 inputmode="tel"></label>
<label>Channel <select name="channel">{options}</select></label>
<button type="submit" id="open">Open account</button></form>"""
        return self._reply(200, page.encode(), raw=True)


def _deposit_form(phone: str, with_phone: bool = False) -> str:
    """The form of a first deposit (``phone`` escaped by the caller)."""
    kind = "tel" if with_phone else "hidden"
    label = "Phone " if with_phone else ""
    return f"""<form method="post" action="/deposit"><label>{label}<input type="{kind}"
 name="phone" value="{phone}"></label><label>First deposit (yuan) <input
 name="first_deposit_amount" value="1000.00" inputmode="decimal"></label>
<button type="submit" id="deposit">Deposit</button></form>"""


def make_server(host: str, port: int, state: SimulatorState) -> ThreadingHTTPServer:
    handler = type("BoundSimulatorHandler", (SimulatorHandler,), {"state": state})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
