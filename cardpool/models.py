from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q


class CardKind(models.Model):
    code = models.CharField(max_length=32, unique=True, help_text="For example JD20.")
    name = models.CharField(max_length=100)
    face_value = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    low_stock_threshold = models.PositiveIntegerField(default=50)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(face_value__gt=0), name="cardkind_face_value_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.face_value} yuan)"


class CardBatch(models.Model):
    """One imported file. The content hash is unique: the same file cannot be imported twice."""

    kind = models.ForeignKey(CardKind, on_delete=models.PROTECT, related_name="batches")
    supplier = models.CharField(max_length=100, blank=True)
    file_name = models.CharField(max_length=255)
    content_sha256 = models.CharField(max_length=64, unique=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    imported_at = models.DateTimeField(auto_now_add=True)
    row_count = models.PositiveIntegerField()

    class Meta:
        ordering = ["-imported_at"]
        verbose_name_plural = "card batches"

    def __str__(self) -> str:
        # No kind here: list filters print every batch, and a lookup per batch adds up.
        return f"#{self.pk} {self.file_name} ({self.row_count} cards)"


class Card(models.Model):
    """A prepaid gift card. Number and password are Fernet tokens (see ``cardpool.secrets``);
    ``number_digest`` (keyed HMAC) makes the number unique and searchable without decrypting."""

    class Status(models.TextChoices):
        AVAILABLE = "available"
        ASSIGNED = "assigned"
        VOID = "void"
        EXPIRED = "expired"

    kind = models.ForeignKey(CardKind, on_delete=models.PROTECT, related_name="cards")
    batch = models.ForeignKey(CardBatch, on_delete=models.PROTECT, related_name="cards")
    number_encrypted = models.TextField(editable=False)
    password_encrypted = models.TextField(editable=False)
    number_digest = models.CharField(max_length=64, unique=True, editable=False)
    number_last4 = models.CharField(max_length=4, editable=False)
    valid_until = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.AVAILABLE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        permissions = [("reveal_card_secret", "Can reveal a card's number and password")]
        indexes = [
            # "Next available card of kind K, soonest expiry first" is one index range scan.
            models.Index(
                fields=["kind", "valid_until", "id"],
                condition=Q(status="available"),
                name="card_available_by_expiry",
            ),
            models.Index(fields=["kind", "status"], name="card_kind_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["available", "assigned", "void", "expired"]),
                name="card_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="assigned") | Q(assigned_at__isnull=False),
                name="card_assigned_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind.code} ****{self.number_last4}"


class CardEvent(models.Model):
    """Every status change of a card and every reveal of its secret, with who and why."""

    class Action(models.TextChoices):
        ASSIGNED = "assigned"
        VOIDED = "voided"
        EXPIRED = "expired"
        REVEALED = "revealed"

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    actor_label = models.CharField(max_length=100, blank=True, help_text="System actor, if any.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.card} {self.action}"
