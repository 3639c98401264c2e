from django.urls import path

from . import views

app_name = "signin"
urlpatterns = [
    path("enter", views.enter, name="enter"),
    path("staff/second-factor/", views.second_factor, name="second_factor"),
]
