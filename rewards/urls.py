from django.urls import path, register_converter

from core.converters import CodeConverter

from . import views
from .numbers import is_valid_grant_no


class GrantNoConverter(CodeConverter):
    """A grant number whose check digit is right: a mistyped one names no page and costs no
    query."""

    regex = "RG[0-9]{11,20}"

    def to_python(self, value: str) -> str:
        if not is_valid_grant_no(value):
            raise ValueError(value)
        return value


register_converter(GrantNoConverter, "grant_no")

app_name = "rewards"
urlpatterns = [
    path("me/", views.home, name="home"),
    path("me/poster.svg", views.poster, name="poster"),
    path("me/check-friends", views.check_friends, name="check_friends"),
    path("me/rewards/", views.my_rewards, name="my_rewards"),
    path("me/points/", views.my_points, name="my_points"),
    path("me/grants/<grant_no:grant_no>/card", views.reveal_card, name="reveal_card"),
    path("me/grants/<grant_no:grant_no>/report", views.report_card, name="report_card"),
]
