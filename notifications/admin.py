from django.conf import settings
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin_tools import (
    ReadOnlyAdmin,
    ReadOnlyInline,
    actor_shown,
    reason_action,
    shown_phone,
    shown_user,
)

from . import texts
from .models import Message, MessageEvent
from .services import retry_message


class MessageEventInline(ReadOnlyInline):
    model = MessageEvent
    fields = ["created_at", "action", actor_shown, "reason"]
    readonly_fields = fields


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """The outbox: what waits, what was sent, what failed for good (retry it with a reason)."""

    list_display = [
        "created_at",
        "recipient_shown",
        "kind",
        "status",
        "channel",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    list_select_related = ["recipient"]
    list_filter = ["status", "channel", "kind"]
    fields = [
        "recipient_shown",
        "kind",
        "words",
        "phone_shown",
        "status",
        "channel",
        "batch_key",
        "attempts",
        "created_at",
        "next_attempt_at",
        "sent_at",
        "read_at",
        "last_error",
    ]
    readonly_fields = fields
    inlines = [MessageEventInline]
    show_full_result_count = False
    actions = [
        reason_action(
            "retry_selected",
            _("Send the selected failed messages again (asks for a reason)"),
            title=_("Send again"),
            service=retry_message,
            permission="notifications.change_message",
        )
    ]

    @admin.display(description=_("words"))
    def words(self, message) -> str:
        if message.kind == Message.Kind.ANOMALY:
            return texts.alert_email([message], settings.LANGUAGE_CODE)[1]
        return texts.text(message.kind, message.params, "zh-hans")

    @admin.display(description=_("recipient"))
    def recipient_shown(self, message) -> str:
        if message.recipient is None:  # a staff alert
            return message.email
        return shown_user(message.recipient)

    @admin.display(description=_("phone"))
    def phone_shown(self, message) -> str:
        return shown_phone(message.phone) if message.phone else "-"
