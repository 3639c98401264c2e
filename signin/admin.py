from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin_tools import ReadOnlyAdmin, shown_user

from .models import AppIdentity, SignInEvent


class UserShown:
    @admin.display(description=_("user"))
    def user_shown(self, obj) -> str:
        """The user as this member of staff may see it (a customer's name is their phone)."""
        return shown_user(obj.user) if obj.user_id else "-"


@admin.register(AppIdentity)
class AppIdentityAdmin(UserShown, ReadOnlyAdmin):
    """Which of our users each customer id of the brokerage's app is (made at their first
    hand-off)."""

    list_display = ["issuer", "subject", "user_shown", "created_at"]
    fields = list_display
    readonly_fields = fields
    search_fields = ["subject__exact"]
    show_full_result_count = False


@admin.register(SignInEvent)
class SignInEventAdmin(UserShown, ReadOnlyAdmin):
    """Hand-offs refused for who they named: a customer id with another phone, a phone tied
    to another customer id, a staff account."""

    list_display = ["created_at", "action", "issuer", "subject", "user_shown"]
    fields = [*list_display, "reason"]
    readonly_fields = fields
    list_filter = ["action"]
    show_full_result_count = False
