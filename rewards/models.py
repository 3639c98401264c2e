from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from invitations.models import RecordedEvent


class Grant(models.Model):
    """A reward order: one card and some points for one qualified invitation."""

    class Status(models.TextChoices):
        PENDING_STOCK = "pending_stock", "waiting for stock"
        HELD = "held", "held for review"
        ISSUED = "issued"
        VOID = "void"

    grant_no = models.CharField(max_length=20, unique=True, editable=False)
    invitation = models.ForeignKey(
        "invitations.Invitation", on_delete=models.PROTECT, related_name="grants"
    )
    inviter = models.ForeignKey(
        "invitations.Customer", on_delete=models.PROTECT, related_name="grants"
    )
    campaign = models.ForeignKey(
        "invitations.Campaign", on_delete=models.PROTECT, related_name="grants"
    )
    card = models.OneToOneField(
        "cardpool.Card", null=True, blank=True, on_delete=models.PROTECT, related_name="grant"
    )
    points = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices)
    hold_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    first_revealed_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaces"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Invariant 2: an invitation has at most one live grant; void ones are history
            # (a reissue voids the old grant and links the new one).
            models.UniqueConstraint(
                fields=["invitation"],
                condition=~Q(status="void"),
                name="grant_one_live_per_invitation",
            ),
            models.CheckConstraint(
                condition=~Q(status="issued") | Q(card__isnull=False, issued_at__isnull=False),
                name="grant_issued_has_card",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["pending_stock", "held"]) | Q(card__isnull=True),
                name="grant_waiting_has_no_card",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at", "id"],
                condition=Q(status="pending_stock"),
                name="grant_pending_stock",
            ),
            models.Index(fields=["inviter", "campaign", "status"], name="grant_inviter_campaign"),
            # the default ordering (admin list): newest first without sorting the table
            models.Index(fields=["-created_at", "-id"], name="grant_newest_first"),
        ]

    def __str__(self) -> str:
        return self.grant_no


class PointsEntry(models.Model):
    """Append-only points ledger. A balance is the sum of a customer's entries."""

    class Kind(models.TextChoices):
        REWARD = "reward"
        REVERSAL = "reversal"
        ADJUSTMENT = "adjustment"

    customer = models.ForeignKey(
        "invitations.Customer", on_delete=models.PROTECT, related_name="points_entries"
    )
    amount = models.IntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    grant = models.ForeignKey(
        Grant, null=True, blank=True, on_delete=models.PROTECT, related_name="points_entries"
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "points entries"
        constraints = [
            # Invariant 6: a grant credits (and reverses) its points exactly once.
            models.UniqueConstraint(
                fields=["grant", "kind"],
                condition=Q(grant__isnull=False),
                name="points_once_per_grant_and_kind",
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="points_amount_not_zero"),
            models.CheckConstraint(
                condition=~Q(kind="reward") | Q(amount__gt=0, grant__isnull=False),
                name="points_reward_positive",
            ),
            models.CheckConstraint(
                condition=~Q(kind="reversal") | Q(amount__lt=0, grant__isnull=False),
                name="points_reversal_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+d} {self.kind}"


class GrantEvent(models.Model):
    class Action(models.TextChoices):
        CREATED = "created"
        HELD = "held"
        ISSUED = "issued"
        RELEASED = "released"
        REVEALED = "revealed"
        REPORTED = "reported"
        VOIDED = "voided"
        REISSUED = "reissued"

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    actor_label = models.CharField(max_length=100, blank=True)
    reason = models.TextField(blank=True)
    card = models.ForeignKey(
        "cardpool.Card", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.grant} {self.action}"


class UnrewardedInvitation(models.Model):
    """A qualified invitation that earns no grant, and why (for example over the inviter's cap)."""

    class Reason(models.TextChoices):
        OVER_CAP = "over_cap", "over the inviter's cap"

    invitation = models.OneToOneField(
        "invitations.Invitation", on_delete=models.PROTECT, related_name="unrewarded"
    )
    reason = models.CharField(max_length=32, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.invitation} {self.reason}"


class CardProblem(models.TextChoices):
    """What a customer can report about a card (the words they choose from)."""

    ACTIVATED = "activated", _("The card was already activated")
    DECLINED = "declined", _("The card is not accepted")
    OTHER = "other", _("Something else")


class AnomalyRule(models.TextChoices):
    """What an anomaly is about. The detection rules are in ``rewards/anomalies/rules.py``;
    ``card_reported`` is raised by the customer's one-click report."""

    # invariants that cannot happen (a database constraint or a lock stands behind each)
    CARD_IN_TWO_GRANTS = "card_in_two_grants", "card in two grants"
    INVITATION_TWO_LIVE_GRANTS = "invitation_two_live_grants", "invitation with two live grants"
    INVITER_OVER_CAP = "inviter_over_cap", "inviter over the campaign's cap"
    LEDGER_MISMATCH = "ledger_mismatch", "points ledger differs from issued grants"
    ASSIGNED_CARD_WITHOUT_GRANT = "assigned_card_without_grant", "assigned card without a grant"
    GRANT_CARD_NOT_ASSIGNED = "grant_card_not_assigned", "issued grant whose card is not assigned"
    ACCOUNT_COUNTED_TWICE = "account_counted_twice", "account counted twice in a campaign"
    EXISTING_CUSTOMER_REWARDED = "existing_customer_rewarded", "existing customer rewarded"
    CARD_SECRET_IN_CLEAR = "card_secret_in_clear", "card secret not encrypted"
    GRANT_NUMBER_REUSED = "grant_number_reused", "grant number used twice"
    CARD_CHANGED_WITHOUT_EVENT = (
        "card_changed_without_event",
        "card status changed without an event",
    )
    HISTORY_UNPROTECTED = "history_unprotected", "history tables not protected"
    # stock
    LOW_STOCK = "low_stock", "stock under its threshold"
    OUT_OF_STOCK = "out_of_stock", "out of stock with grants waiting"
    CARDS_EXPIRING = "cards_expiring", "available cards expiring soon"
    STOCK_DAYS_LEFT = "stock_days_left", "few days of stock left"
    # fraud signals
    INVITER_QUALIFICATIONS_PER_DAY = "inviter_daily_qualifications", "inviter qualifying fast"
    GRANT_RATE_SPIKE = "grant_rate_spike", "grants per hour spiking"
    CHANNEL_BURST = "channel_burst", "invitees opening together through one channel"
    # pipeline health
    POLLER_STALLED = "poller_stalled", "poller stalled"
    UPSTREAM_ERROR_RATE = "upstream_error_rate", "upstream failing"
    PENDING_PAST_WINDOW = "pending_past_window", "invitations pending past their window"
    GRANTS_WAITING = "grants_waiting", "grants waiting too long"
    # customers
    CARD_REPORTED = "card_reported", "card reported by its customer"


class Anomaly(models.Model):
    """Something staff must look at. An active (open or acknowledged) anomaly is unique per rule
    and subject: a rule that finds it again counts one more occurrence."""

    class Severity(models.TextChoices):
        INFO = "info"
        WARNING = "warning"
        CRITICAL = "critical"

    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"
        FALSE_POSITIVE = "false_positive", "false positive"

    ACTIVE = (Status.OPEN, Status.ACKNOWLEDGED)

    kind = models.CharField("rule", max_length=50, choices=AnomalyRule.choices)
    subject = models.CharField(max_length=100, help_text="What it is about, for deduplication.")
    severity = models.CharField(max_length=16, choices=Severity.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    # the object it is about (card, grant, invitation, customer, campaign or card kind)
    subject_type = models.ForeignKey(
        "contenttypes.ContentType", null=True, blank=True, on_delete=models.PROTECT
    )
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject_object = GenericForeignKey("subject_type", "subject_id")
    campaign = models.ForeignKey(
        "invitations.Campaign",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="anomalies",
    )
    grant = models.ForeignKey(
        Grant, null=True, blank=True, on_delete=models.PROTECT, related_name="anomalies"
    )
    occurrences = models.PositiveIntegerField(default=1)
    notes = models.TextField(blank=True, help_text="Reviews before events were kept; see events.")
    created_at = models.DateTimeField("first seen", auto_now_add=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the reviewers were sent an email about it."
    )

    class Meta:
        ordering = ["-updated_at"]
        verbose_name_plural = "anomalies"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="anomaly_one_active_per_subject",
            )
        ]
        indexes = [
            models.Index(
                fields=["kind"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="anomaly_active",
            )
        ]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.kind}: {self.subject}"


class AnomalyEvent(RecordedEvent):
    """Every review of an anomaly (with the reviewer's note) and every change the detection makes
    to it (closed when its condition is gone, its campaign paused)."""

    class Action(models.TextChoices):
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"
        FALSE_POSITIVE = "false_positive", "false positive"
        CLOSED_AUTOMATICALLY = "closed_automatically", "closed automatically"
        CAMPAIGN_PAUSED = "campaign_paused", "campaign paused"

    anomaly = models.ForeignKey(Anomaly, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=32, choices=Action.choices)


class ReconciliationRun(models.Model):
    """One run of ``reconcile``: the counts an operator compares with the books, and every
    breach of an invariant with the ids involved."""

    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    is_ok = models.BooleanField(default=False, help_text="No invariant broken.")
    breaches = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict)
    actor_label = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"reconciliation {self.started_at:%Y-%m-%d %H:%M} {'ok' if self.is_ok else 'BREACH'}"
