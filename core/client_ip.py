"""The client's address, for the throttles (failed logins, SMS codes) and /metrics' allow-list.

X-Forwarded-For is anyone's to write. It is believed hop by hop from the right, and only from
our own proxies: while the address that handed us the request is in ``TRUSTED_PROXIES`` (our
load balancer, ingress: addresses or networks), the hop it appended is the address before it;
the first address outside ``TRUSTED_PROXIES`` is the client. None are configured by default:
the header is ignored and the direct peer (REMOTE_ADDR) is the client. A malformed hop where one
is needed, or a chain longer than ``MAX_HOPS``, stops the walk at the address that wrote it:
never a forged address, never an exception.

The throttles count an IPv4 client per address and an IPv6 client per /64 (``throttle_key``):
one home router or phone line is given a whole /64 and may change the low 64 bits at will."""

import functools
import ipaddress
import re
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Proxies of ours a request may pass through; a longer chain stops at the last one examined.
MAX_HOPS = 16
# An IPv6 client is counted per network of this size (a subscriber's usual allocation).
IPV6_THROTTLE_PREFIX = 64
# A hop as some proxies write it: "[2001:db8::1]", "[2001:db8::1]:443", "203.0.113.7:80".
_BRACKETED = re.compile(r"\[([0-9A-Fa-f:.]{2,45})\](?::[0-9]{1,5})?")
_IPV4_WITH_PORT = re.compile(r"([0-9.]{7,15}):[0-9]{1,5}")


def parse_networks(setting: str, entries: Iterable[str], *, refuse_everyone: bool = False):
    """Addresses or networks (CIDR) from a setting, IPv4 or IPv6, as a tuple of networks.
    Raises ``ImproperlyConfigured`` naming the first bad entry, so a typo stops the start-up
    instead of failing (or trusting nobody, or everybody) at the first request."""
    parsed = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue  # "a,,b" or a trailing comma
        try:
            network = ipaddress.ip_network(entry)
        except ValueError as error:
            raise ImproperlyConfigured(
                f"{setting}: {entry!r} is not an IP address or network ({error}); "
                "write addresses or CIDR networks, comma separated, e.g. 10.0.0.0/8,2001:db8::/32"
            ) from None
        if network.version == 6 and network.network_address.scope_id is not None:
            raise ImproperlyConfigured(f"{setting}: {entry!r}: a zone id (%...) is not allowed")
        if refuse_everyone and network.prefixlen == 0:
            raise ImproperlyConfigured(
                f"{setting}: {entry!r} is every address: anyone could forge X-Forwarded-For"
            )
        parsed.append(network)
    return tuple(parsed)


@functools.lru_cache(maxsize=16)
def _networks(setting: str, entries: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(setting, entries)


def networks(setting: str) -> tuple[Network, ...]:
    """The networks a setting names, parsed once (settings/base.py already refused bad ones)."""
    return _networks(setting, tuple(str(entry) for entry in getattr(settings, setting)))


def parse_address(text: str) -> Address | None:
    """One address as REMOTE_ADDR or a proxy writes it (bracketed or with a port allowed), an
    IPv4-mapped IPv6 address as its IPv4 one; None for anything else, zone ids included."""
    text = text.strip()
    bracketed = _BRACKETED.fullmatch(text)
    if match := bracketed or _IPV4_WITH_PORT.fullmatch(text):
        text = match.group(1)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if bracketed and address.version == 4:
        return None  # brackets are for IPv6 only
    if address.version == 6:
        if address.scope_id is not None:
            return None
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
    return address


def _is_trusted(address: Address, trusted: tuple[Network, ...]) -> bool:
    return any(address in network for network in trusted)


def client_ip(request) -> str | None:
    """The client's address (see the module's docstring); None only when REMOTE_ADDR itself is
    not an address (a Unix socket without a proxy)."""
    client = parse_address(request.META.get("REMOTE_ADDR") or "")
    if client is None:
        return None
    trusted = networks("TRUSTED_PROXIES")
    if trusted and _is_trusted(client, trusted):
        # the last MAX_HOPS hops; whatever is further left stays in hops[0], commas and all,
        # and is malformed if the walk ever gets there
        hops = (request.META.get("HTTP_X_FORWARDED_FOR") or "").rsplit(",", MAX_HOPS)
        while hops and _is_trusted(client, trusted):
            hop = parse_address(hops.pop())
            if hop is None:
                break  # the proxy at `client` wrote no usable address: it is the client
            client = hop
    return str(client)


def throttle_key(address: str | None) -> str | None:
    """What the throttles count a client by: an IPv4 address itself, an IPv6 address's /64 as
    that network's first address (``2001:db8:1:2::``, which an address column holds), an
    IPv4-mapped address as its IPv4 one. ``address`` is ``client_ip``'s answer."""
    if not address:
        return None
    parsed = parse_address(address)
    if parsed is None:
        raise ValueError(f"not an IP address: {address!r}")
    if parsed.version == 6:
        network = ipaddress.ip_network((parsed, IPV6_THROTTLE_PREFIX), strict=False)
        parsed = network.network_address
    return str(parsed)


def client_network(request) -> str | None:
    """``throttle_key(client_ip(request))``: what django-axes counts failed logins by
    (``AXES_CLIENT_IP_CALLABLE``), so a /64 is locked out as one client."""
    return throttle_key(client_ip(request))
