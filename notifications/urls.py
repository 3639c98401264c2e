from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("me/messages/", views.inbox, name="inbox"),
    path("me/messages/settings", views.preferences, name="preferences"),
]
