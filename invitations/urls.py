from django.urls import path, register_converter

from core.converters import CodeConverter

from . import hooks, views


class InviteCodeConverter(CodeConverter):
    regex = "[0-9A-Za-z]{4,16}"


register_converter(InviteCodeConverter, "invite_code")

app_name = "invitations"
urlpatterns = [
    path("i/<invite_code:code>", views.landing, name="landing"),
    path("i/<invite_code:code>/verify", views.verify, name="verify"),
    path("i/<invite_code:code>/invited", views.invited, name="invited"),
    path("i/<invite_code:code>/open-account", views.open_account, name="open_account"),
    path("hooks/account-opened", hooks.account_opened, name="account_opened_hook"),
    path("privacy/", views.privacy, name="privacy"),
    path("signup/", views.signup, name="signup"),
    path("login/code", views.code_login, name="code_login"),
    path("login/code/verify", views.code_login_verify, name="code_login_verify"),
    path("login/code/again", views.code_again, name="code_again"),
]
