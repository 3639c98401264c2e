"""Request boundaries every page shares."""

from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import render


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
