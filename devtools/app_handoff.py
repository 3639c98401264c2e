"""A stand-in for the brokerage's app and its backend's signing key, as a real process over
HTTP: ``GET /open?customer=<their id>&phone=<11 digits>&next=/me/`` signs a hand-off token (a
JWT, EdDSA) and redirects to the referral site's ``/enter``, as the app's web view would open
it; ``GET /`` is a page with such a link for the demo's customer. ``token()`` signs one
directly, for tests that need a token the app would never send (expired, wrong audience ...).

The key pair is for development only: production settings refuse its public key.

    python -m devtools.app_handoff --port 8767 --site http://127.0.0.1:8000
"""

import argparse
import html
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlencode, urlparse

import jwt

from devtools.processes import serve

PRIVATE_KEY = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIOpasMkH+MpGggeRGAmdLF5vnOpss+W39j9mscMP4eOS
-----END PRIVATE KEY-----
"""
PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAHTXwOZcBrr4KBEcmpLbYf0s5DurNAfWIKEdFROIVXZ4=
-----END PUBLIC KEY-----
"""
ISSUER = "brokerage-app"
AUDIENCE = "referral-rewards"
DEMO_CUSTOMER = ("C100001", "13800138000")


def token(
    subject: str,
    phone: str,
    *,
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
    lifetime: int = 60,
    issued_at: float | None = None,
    token_id: str | None = None,
    key: str = PRIVATE_KEY,
    algorithm: str = "EdDSA",
    **extra,
) -> str:
    now = time.time() if issued_at is None else issued_at
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "phone": phone,
        "iat": int(now),
        "exp": int(now) + lifetime,
        "jti": token_id or uuid.uuid4().hex,
        **extra,
    }
    return jwt.encode(claims, key, algorithm=algorithm)


def handler(site: str):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # a token in a query string is not logged
            pass

        def do_GET(self):
            url = urlparse(self.path)
            query = {name: values[0] for name, values in parse_qs(url.query).items()}
            if url.path == "/open" and query.get("customer") and query.get("phone"):
                signed = token(query["customer"], query["phone"])
                target = f"{site}/enter?" + urlencode(
                    {"token": signed, "next": query.get("next", "/me/")}
                )
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if url.path == "/":
                customer, phone = DEMO_CUSTOMER
                link = "/open?" + urlencode({"customer": customer, "phone": phone, "next": "/me/"})
                body = (
                    "<!doctype html><meta charset='utf-8'>"
                    "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                    "<title>券商 App（模拟）</title><h1>券商 App（模拟）</h1>"
                    f"<p>已登录：客户 {html.escape(customer)}</p>"
                    f"<p><a id='open' href='{html.escape(link)}'>邀请好友赢礼品卡</a></p>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--site", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    serve(handler(args.site.rstrip("/")), args.port)


if __name__ == "__main__":
    main(sys.argv[1:])
