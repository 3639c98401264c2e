"""The client's address, for throttles (failed logins, SMS codes).

Behind a proxy, REMOTE_ADDR is the proxy's: every visitor would share one address and one
visitor's failures would lock everybody out. ``TRUSTED_PROXY_COUNT`` says how many proxies of
ours append to X-Forwarded-For; the address the outermost of them saw is taken, and anything a
client wrote further left is ignored (it could be forged)."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    proxies = settings.TRUSTED_PROXY_COUNT
    address = request.META.get("REMOTE_ADDR")
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= proxies:
            address = hops[-proxies]
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None  # garbage in the header: no address rather than a forged one
