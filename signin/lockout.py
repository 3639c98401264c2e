"""One lockout for every way of signing in: a wrong one-time code counts with a wrong password
(django-axes, per number and per client network), and a number or network locked by either is
refused by both until the cool-off ends."""

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse


def _credentials(phone: str) -> dict:
    return {"username": phone}  # a customer's username is their number, as the login form has it


def refused_while_locked(request: HttpRequest, phone: str) -> HttpResponse | None:
    """The lockout page (429) when this number or this client's network is locked out, else
    None."""
    credentials = _credentials(phone)
    if AxesProxyHandler.is_locked(request, credentials):
        return get_lockout_response(request, None, credentials)
    return None


def count_failed_sign_in(request: HttpRequest, phone: str) -> None:
    """A wrong code, counted as a failed login is (the signal django-axes listens to); the
    request that reaches the limit is answered with the lockout page by its middleware."""
    user_login_failed.send(sender=__name__, credentials=_credentials(phone), request=request)
