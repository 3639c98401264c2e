"""A stand-in for the SMS and app-push gateways, as a real process over HTTP: ``POST /sms``
(``{"phone", "text"}``) and ``POST /push`` (``{"user", "title", "text"}``), bearer token,
``Idempotency-Key`` honoured as real gateways do (a key already delivered is answered 200 and not
delivered again). Every request is recorded; ``GET /_gw/records`` returns them, so a test counts
deliveries with the gateway's own records.

Faults, drawn per request: ``--fail-rate`` answers 500 and delivers nothing; ``--hang-rate``
delivers, then waits ``--hang-seconds`` before answering (the sender times out, the answer is
lost: its retry must not deliver twice). ``--rate`` answers 429 to requests over that many a
second (a token bucket of one second's worth), as a real gateway's quota does.

    python -m devtools.message_gateway --port 0 [--token T] [--fail-rate 0.2] [--hang-rate 0.1]
"""

import argparse
import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

from devtools.processes import serve

MAX_BODY = 64 * 1024


class Gateway:
    def __init__(
        self, token: str, fail_rate: float, hang_rate: float, hang_seconds: float, seed, rate=0.0
    ):
        self.token = token
        self.rate, self.tokens, self.refilled = rate, rate, time.monotonic()
        self.fail_rate, self.hang_rate, self.hang_seconds = fail_rate, hang_rate, hang_seconds
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.records: list[dict] = []
        self.delivered: set[str] = set()

    def take(self, path: str, key: str, body: dict) -> tuple[int, float]:
        """Record the request and decide: (status, seconds to wait before answering)."""
        with self.lock:
            draw = self.random.random()
            if self.rate:
                now = time.monotonic()
                self.tokens = min(self.rate, self.tokens + (now - self.refilled) * self.rate)
                self.refilled = now
            if self.rate and self.tokens < 1:
                outcome, status, wait = "over_rate", 429, 0.0
            elif draw < self.fail_rate:
                outcome, status, wait = "failed", 500, 0.0
            elif key and key in self.delivered:
                outcome, status, wait = "duplicate", 200, 0.0
            else:
                if key:
                    self.delivered.add(key)
                hang = draw < self.fail_rate + self.hang_rate
                outcome, status = ("delivered_hung" if hang else "delivered"), 200
                wait = self.hang_seconds if hang else 0.0
            if self.rate and status != 429:
                self.tokens -= 1
            self.records.append(
                {"path": path, "key": key, "outcome": outcome, "at": time.time(), **body}
            )
        return status, wait


def handler(gateway: Gateway):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _answer(self, status: int, payload) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/_gw/records":
                with gateway.lock:
                    return self._answer(200, list(gateway.records))
            return self._answer(404, {"error": "not found"})

        def do_POST(self):
            if self.path not in ("/sms", "/push"):
                return self._answer(404, {"error": "not found"})
            if gateway.token and self.headers.get("Authorization") != f"Bearer {gateway.token}":
                return self._answer(401, {"error": "bad token"})
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._answer(413, {"error": "too long"})
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self._answer(400, {"error": "not JSON"})
            key = self.headers.get("Idempotency-Key", "")
            status, wait = gateway.take(self.path, key, body if isinstance(body, dict) else {})
            time.sleep(wait)
            try:
                self._answer(status, {"ok": status == 200})
            except OSError:
                pass  # the sender gave up waiting

    return Handler


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--token", default="")
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--hang-rate", type=float, default=0.0)
    parser.add_argument("--hang-seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--rate", type=float, default=0.0, help="requests a second; 0: no limit")
    args = parser.parse_args(argv)
    gateway = Gateway(
        args.token, args.fail_rate, args.hang_rate, args.hang_seconds, args.seed, args.rate
    )
    serve(handler(gateway), args.port)


if __name__ == "__main__":
    main(sys.argv[1:])
