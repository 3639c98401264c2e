from django.urls import path

from . import views

app_name = "invitations"
urlpatterns = [
    path("i/<str:code>", views.landing, name="landing"),
    path("i/<str:code>/invited", views.invited, name="invited"),
    path("signup/", views.signup, name="signup"),
]
