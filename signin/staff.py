"""Staff's second factor (TOTP, django-otp, with recovery codes). Under the production settings
(``STAFF_SECOND_FACTOR_REQUIRED``) a member of staff who holds a permission that reveals a card,
moves money or changes a campaign reaches the admin only from a session verified by their
authenticator app; the others may enrol. Failed codes are throttled by django-otp (a doubling
wait after each failure, per device)."""

from django import forms
from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user, user_has_device
from django_otp.forms import OTPAuthenticationFormMixin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

# What reveals a card, moves money or changes a campaign.
SENSITIVE_PERMISSIONS = (
    "cardpool.reveal_card_secret",
    "cardpool.add_card",
    "cardpool.change_card",
    "cardpool.change_cardbatch",
    "rewards.change_grant",
    "rewards.change_unrewardedinvitation",
    "invitations.change_campaign",
    "invitations.view_full_phone",
)
RECOVERY_CODES = 10


def needs_second_factor(user) -> bool:
    if not (settings.STAFF_SECOND_FACTOR_REQUIRED and user.is_authenticated and user.is_staff):
        return False
    return user.is_superuser or any(user.has_perm(name) for name in SENSITIVE_PERMISSIONS)


class StaffLoginForm(OTPAuthenticationFormMixin, AdminAuthenticationForm):
    """The admin's login: name, password and, once enrolled, the authenticator's 6-digit code
    or one of the recovery codes (the kind is told by its length)."""

    otp_token = forms.CharField(
        required=False,
        label=_("Authenticator code (or a recovery code)"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self):
        self.cleaned_data = super().clean()
        user = self.get_user()
        if user is not None and user_has_device(user, confirmed=True):
            self.clean_otp(user)
        return self.cleaned_data

    def _chosen_device(self, user):
        token = (self.cleaned_data.get("otp_token") or "").strip()
        kind = TOTPDevice if token.isdigit() and len(token) == 6 else StaticDevice
        return next((device for device in devices_for_user(user) if isinstance(device, kind)), None)

    def _verify_token(self, user, token, device=None):
        if device is None:
            raise forms.ValidationError(
                self.otp_error_messages["invalid_token"], code="invalid_token"
            )
        return super()._verify_token(user, token.strip(), device)


class StaffAdminSite(AdminSite):
    """The admin, where those who must have a second factor are let in only from a verified
    session (else the login page asks for their code, or says how to enrol)."""

    login_form = StaffLoginForm
    login_template = "admin/staff_login.html"
    # Django's sidebar draws every model of every app on every page (7-10 ms of a list's
    # 30 here); the review desk (the index) lists them, and each page's breadcrumbs lead there
    enable_nav_sidebar = False

    def has_permission(self, request):
        user = request.user
        verified = not needs_second_factor(user) or user.is_verified()
        return super().has_permission(request) and verified

    def each_context(self, request):
        context = super().each_context(request)
        user = request.user
        context["second_factor_missing"] = needs_second_factor(user) and not user_has_device(
            user, confirmed=True
        )
        return context
