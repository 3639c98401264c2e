"""Messages to people: what was said to whom (the in-site inbox shows every one), and the
outbox's state of its delivery by SMS or push. A message knows a recipient and what to say,
never the grant or anything else it is about (its ``params`` are the words' values: no card
number, password, code or anyone else's phone)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import RecordedEvent


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    PUSH = "push", _("App notification")
    INBOX = "inbox", _("Only in my messages on the site")
    EMAIL = "email", _("E-mail (staff alerts)")


CUSTOMER_CHANNELS = [choice for choice in Channel.choices if choice[0] != Channel.EMAIL]


class Preference(models.Model):
    """How a person wants to be told. No row: by SMS, reminders on, in Chinese. Reminders turned
    off stay in the inbox, never sent."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="message_preference",
        verbose_name=_("user"),
    )
    channel = models.CharField(
        max_length=8, choices=CUSTOMER_CHANNELS, default=Channel.SMS, verbose_name=_("tell me by")
    )
    reminders = models.BooleanField(
        default=True, verbose_name=_("remind me of cards I have not opened before they expire")
    )
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, default="zh-hans", verbose_name=_("language")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("message preference")
        verbose_name_plural = _("message preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.channel}"


class Message(models.Model):
    class Kind(models.TextChoices):
        REWARD_ISSUED = "reward_issued", _("reward issued")
        REWARD_WAITING = "reward_waiting", _("reward waiting for stock")
        REWARD_HELD = "reward_held", _("reward held for review")
        REWARD_VOIDED = "reward_voided", _("reward voided")
        CARD_EXPIRING = "card_expiring", _("unopened card expiring (a reminder)")
        ANOMALY = "anomaly", _("anomaly (to the reviewers)")

    class Status(models.TextChoices):
        WAITING = "waiting", _("waiting")
        SENT = "sent", _("sent")
        INBOX_ONLY = "inbox_only", _("inbox only (the person's choice)")
        SKIPPED = "skipped", _("not sent (daily limit)")
        DEAD = "dead", _("failed for good")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages_received",
        help_text=_("A customer; empty for a staff alert, which goes to an e-mail address."),
        verbose_name=_("recipient"),
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, verbose_name=_("message kind"))
    params = models.JSONField(default=dict, blank=True, verbose_name=_("details"))
    phone = models.CharField(max_length=11, blank=True, verbose_name=_("phone"))
    email = models.EmailField(blank=True, verbose_name=_("e-mail address"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    read_at = models.DateTimeField(null=True, blank=True, verbose_name=_("read at"))
    # the outbox: SMS or push, once
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.WAITING, verbose_name=_("status")
    )
    channel = models.CharField(
        max_length=8, choices=Channel.choices, blank=True, verbose_name=_("sent by")
    )
    batch_key = models.UUIDField(
        null=True,
        blank=True,
        help_text=_(
            "The idempotency key of the send that carries it (several messages of a "
            "burst go as one)."
        ),
        verbose_name=_("send key"),
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("send attempts"))
    next_attempt_at = models.DateTimeField(verbose_name=_("next attempt at"))
    leased_until = models.DateTimeField(null=True, blank=True, verbose_name=_("leased until"))
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="waiting"),
                name="message_due",
            ),
            models.Index(fields=["recipient", "-created_at"], name="message_inbox"),
        ]
        constraints = [
            # to a customer, or a staff alert to an address: never neither, never both
            models.CheckConstraint(
                condition=(Q(recipient__isnull=False) & Q(email=""))
                | (Q(recipient__isnull=True) & ~Q(email="")),
                name="message_to_a_customer_or_an_address",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} → {self.recipient_id or 'staff'}"


class MessageEvent(RecordedEvent):
    """Every staff action on a message (a retry of a failed one), with its reason."""

    class Action(models.TextChoices):
        RETRIED = "retried", _("retried")

    message = models.ForeignKey(
        Message, on_delete=models.PROTECT, related_name="events", verbose_name=_("message")
    )
    action = models.CharField(max_length=16, choices=Action.choices, verbose_name=_("action"))

    class Meta(RecordedEvent.Meta):
        verbose_name = _("message event")
        verbose_name_plural = _("message events")
