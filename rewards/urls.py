from django.urls import path

from . import views

app_name = "rewards"
urlpatterns = [
    path("me/", views.my_rewards, name="my_rewards"),
    path("me/grants/<str:grant_no>/card", views.reveal_card, name="reveal_card"),
    path("me/grants/<str:grant_no>/report", views.report_card, name="report_card"),
]
