from django.contrib import admin

from core.admin_tools import ReadOnlyAdmin

from .models import AppIdentity, SignInEvent


@admin.register(AppIdentity)
class AppIdentityAdmin(ReadOnlyAdmin):
    """Which of our users each customer id of the brokerage's app is (made at their first
    hand-off)."""

    list_display = ["issuer", "subject", "user", "created_at"]
    search_fields = ["subject__exact"]
    show_full_result_count = False


@admin.register(SignInEvent)
class SignInEventAdmin(ReadOnlyAdmin):
    """Hand-offs refused for who they named: a customer id with another phone, a phone tied
    to another customer id, a staff account."""

    list_display = ["created_at", "action", "issuer", "subject", "user"]
    list_filter = ["action"]
    show_full_result_count = False
