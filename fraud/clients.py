"""Who a client is, as far as the fraud signals need: keyed digests of its address (an IPv6
client by its /64, as the throttles count it) and of a first-party device cookie. No third-party
fingerprinting: the cookie is ours, random, and says nothing but "the same browser as before"."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from django.conf import settings

from core.client_ip import client_ip, throttle_key

DEVICE_COOKIE = "rr_device"
DEVICE_ID = re.compile(r"[0-9a-f]{32}", re.ASCII)
DEVICE_COOKIE_DAYS = 365


@dataclass(frozen=True)
class Client:
    address: str  # digest, "" when unknown
    device: str  # digest


def digest(kind: str, value: str) -> str:
    """A keyed digest (the project's secret): equal values compare equal, none can be read
    back from the table."""
    key = f"fraud-signals:{kind}:{settings.SECRET_KEY}".encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def device_id(request) -> str:
    """The browser's device id: its cookie when it holds one we could have set, else a new one
    (set on the response by ``DeviceCookieMiddleware``)."""
    known = request.COOKIES.get(DEVICE_COOKIE, "")
    if DEVICE_ID.fullmatch(known):
        return known
    if not getattr(request, "new_device_id", None):
        request.new_device_id = secrets.token_hex(16)
    return request.new_device_id


def client_of(request) -> Client:
    address = throttle_key(client_ip(request))
    device = digest("device", device_id(request))
    return Client(digest("address", address) if address else "", device)


class DeviceCookieMiddleware:
    """Sets the device cookie a page asked for (``device_id``): first-party, HttpOnly, a
    year."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        new = getattr(request, "new_device_id", None)
        if new:
            response.set_cookie(
                DEVICE_COOKIE,
                new,
                max_age=DEVICE_COOKIE_DAYS * 86400,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
