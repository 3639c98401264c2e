"""Request boundaries every page shares."""

from contextvars import ContextVar

from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import render

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
