"""Request boundaries every page shares."""

from contextvars import ContextVar

from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import render
from django.urls import reverse

# Who is asking, for what admin columns (which receive only the object) may show.
current_user: ContextVar = ContextVar("current_user", default=None)


def refuse_garbage_paths(get_response):
    """A path with a NUL byte or another control character names no page: 404, before any view
    hands it to the database (PostgreSQL refuses NUL in text, which would be an HTTP 500)."""

    def middleware(request):
        if any(ord(char) < 32 or ord(char) == 127 for char in request.path):
            raise Http404("No such page.")
        return get_response(request)

    return middleware


def friendly_method_not_allowed(get_response):
    """Django answers a GET on a POST-only view with an empty 405, which browsers show as a bare
    "HTTP ERROR 405"; give it the site's page with a way back, keeping the status and Allow."""

    def middleware(request):
        response = get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and not response.content:
            page = render(request, "405.html", status=405)
            page["Allow"] = response["Allow"]
            return page
        return response

    return middleware


def remember_user(get_response):
    """Make the request's user available to admin display functions (``current_user``)."""

    def middleware(request):
        token = current_user.set(getattr(request, "user", None))
        try:
            return get_response(request)
        finally:
            current_user.reset(token)

    return middleware


# Everything the pages load is ours (no CDN): scripts only from our static files, never inline
# nor eval; images also as data: (the poster drawn to a PNG) and blob: (the poster's SVG read
# back); no plugins, no framing, forms post only to us.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
# Django's admin and our overrides of it still write a few inline styles (a <style> block,
# style attributes): allowed there, and there only. Its scripts are strict as everywhere.
ADMIN_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


def content_security_policy(get_response):
    """A strict Content-Security-Policy on every response that has none of its own."""

    def middleware(request):
        response = get_response(request)
        if "Content-Security-Policy" not in response:
            admin = request.path.startswith(reverse("admin:index"))
            response["Content-Security-Policy"] = (
                ADMIN_CONTENT_SECURITY_POLICY if admin else CONTENT_SECURITY_POLICY
            )
        return response

    return middleware
