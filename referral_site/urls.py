from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from invitations.forms import PhoneLoginForm
from operations import views as health

admin.site.site_header = _("Referral rewards")
admin.site.site_title = _("Referral rewards admin")
admin.site.index_title = _("Review desk")

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=PhoneLoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health/live", health.live, name="health_live"),
    path("health/ready", health.ready, name="health_ready"),
    path("health/status", health.status, name="health_status"),
    path("healthz", health.live, name="health"),
    # browsers ask for /favicon.ico on pages that name no icon (the admin's, a JSON reply)
    path("favicon.ico", lambda request: redirect(static("site/favicon.svg"), permanent=True)),
    path("metrics", health.prometheus, name="metrics"),  # the first probe's address, kept
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("invitations.urls")),
    path("", include("rewards.urls")),
    path("", include("notifications.urls")),
    path("", include("signin.urls")),
    path("", RedirectView.as_view(pattern_name="rewards:home"), name="home"),
]
