from django.urls import path, register_converter

from referral_site.converters import GrantNoConverter

from . import views

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
