"""Where a page may send someone next."""

from django.utils.http import url_has_allowed_host_and_scheme


def own_page(target: str) -> str:
    """``target`` when it is a path of this site, else "" (never another site, never a
    scheme-relative ``//host`` or ``/\\host``). Sign-in pages pass their ``next`` through it."""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return ""
