from django.urls import path, register_converter

from . import views


class InviteCodeConverter:
    """Invite codes are letters and digits: anything else (a NUL byte, a slash, a space) names
    no page and never reaches the database."""

    regex = "[0-9A-Za-z]{4,16}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(InviteCodeConverter, "invite_code")

app_name = "invitations"
urlpatterns = [
    path("i/<invite_code:code>", views.landing, name="landing"),
    path("i/<invite_code:code>/verify", views.verify, name="verify"),
    path("i/<invite_code:code>/invited", views.invited, name="invited"),
    path("signup/", views.signup, name="signup"),
    path("signup/verify", views.signup_verify, name="signup_verify"),
]
