from django.conf import settings
from django.db import models
from django.db.models import Q


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


class Anomaly(models.Model):
    """Something staff must look at. Open anomalies of one kind and subject are deduplicated."""

    class Severity(models.TextChoices):
        WARNING = "warning"
        CRITICAL = "critical"

    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"
        FALSE_POSITIVE = "false_positive", "false positive"

    kind = models.CharField(max_length=50)
    subject = models.CharField(max_length=100, help_text="What it is about, for deduplication.")
    severity = models.CharField(max_length=16, choices=Severity.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    message = models.TextField()
    grant = models.ForeignKey(
        Grant, null=True, blank=True, on_delete=models.PROTECT, related_name="anomalies"
    )
    occurrences = models.PositiveIntegerField(default=1)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name_plural = "anomalies"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=Q(status="open"),
                name="anomaly_one_open_per_subject",
            )
        ]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.kind}: {self.subject}"
