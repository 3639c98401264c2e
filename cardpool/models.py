from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import RecordedEvent

from .secrets import mask_number


class CardKind(models.Model):
    code = models.CharField(
        max_length=32, unique=True, help_text=_("For example JD20."), verbose_name=_("code")
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    face_value = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        verbose_name=_("face value"),
    )
    low_stock_threshold = models.PositiveIntegerField(
        default=50, verbose_name=_("low stock threshold")
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))

    class Meta:
        verbose_name = _("card kind")
        verbose_name_plural = _("card kinds")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(face_value__gt=0), name="cardkind_face_value_positive"
            )
        ]

    def __str__(self) -> str:
        return gettext("%(code)s (%(value)s yuan)") % {"code": self.code, "value": self.face_value}


class CardBatch(models.Model):
    """One imported file. The content hash is unique: the same file cannot be imported twice."""

    kind = models.ForeignKey(
        CardKind, on_delete=models.PROTECT, related_name="batches", verbose_name=_("kind")
    )
    supplier = models.CharField(max_length=100, blank=True, verbose_name=_("supplier"))
    file_name = models.CharField(max_length=255, verbose_name=_("file name"))
    content_sha256 = models.CharField(max_length=64, unique=True, verbose_name=_("content sha256"))
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("imported by"),
    )
    imported_at = models.DateTimeField(auto_now_add=True, verbose_name=_("imported at"))
    row_count = models.PositiveIntegerField(verbose_name=_("row count"))

    class Meta:
        verbose_name = _("card batch")
        ordering = ["-imported_at"]
        verbose_name_plural = _("card batches")

    def __str__(self) -> str:
        # No kind here: list filters print every batch, and a lookup per batch adds up.
        return gettext("#%(id)s %(file)s (%(count)s cards)") % {
            "id": self.pk,
            "file": self.file_name,
            "count": self.row_count,
        }


class Card(models.Model):
    """A prepaid gift card. Number and password are Fernet tokens (see ``cardpool.secrets``);
    ``number_digest`` (keyed HMAC) makes the number unique and searchable without decrypting."""

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        ASSIGNED = "assigned", _("Assigned")
        VOID = "void", _("Void")
        EXPIRED = "expired", _("Expired")

    kind = models.ForeignKey(
        CardKind, on_delete=models.PROTECT, related_name="cards", verbose_name=_("kind")
    )
    batch = models.ForeignKey(
        CardBatch, on_delete=models.PROTECT, related_name="cards", verbose_name=_("batch")
    )
    number_encrypted = models.TextField(editable=False, verbose_name=_("number encrypted"))
    password_encrypted = models.TextField(editable=False, verbose_name=_("password encrypted"))
    number_digest = models.CharField(
        max_length=64, unique=True, editable=False, verbose_name=_("number digest")
    )
    number_last4 = models.CharField(max_length=4, editable=False, verbose_name=_("number last4"))
    valid_until = models.DateField(verbose_name=_("valid until"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.AVAILABLE, verbose_name=_("status")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    assigned_at = models.DateTimeField(null=True, blank=True, verbose_name=_("assigned at"))

    class Meta:
        verbose_name = _("card")
        verbose_name_plural = _("cards")
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
            # the review desk's unopened cards expiring or expired (a join from the few cards
            # in a range of dates to their grants), and the card list's validity filter
            models.Index(fields=["valid_until"], name="card_by_validity"),
            # the card list filtered by status, in its order (the assigned ones are the oldest:
            # "available" would otherwise read past every assigned card first)
            models.Index(fields=["status", "id"], name="card_by_status"),
            # anomaly detection's "a secret stored in clear" (a card whose number or password is
            # not a Fernet token): empty while the invariant holds, so the rule reads an empty
            # index, not every card's secrets (97 ms at 1,000,000 cards)
            models.Index(
                fields=["id"],
                condition=~Q(number_encrypted__startswith="gAAAAA")
                | ~Q(password_encrypted__startswith="gAAAAA"),  # noqa: S106 (a lookup)
                name="card_secret_not_a_token",
            ),
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
        return f"{self.kind.code} {self.masked_number}"

    @property
    def masked_number(self) -> str:
        """What anyone is shown of a card number outside a recorded reveal: its last four."""
        return mask_number(self.number_last4)


class CardEvent(RecordedEvent):
    """Every status change of a card and every reveal of its secret, with who and why."""

    class Action(models.TextChoices):
        ASSIGNED = "assigned", _("Assigned")
        VOIDED = "voided", _("Voided")
        EXPIRED = "expired", _("Expired")
        REVEALED = "revealed", _("Revealed")

    card = models.ForeignKey(
        Card, on_delete=models.PROTECT, related_name="events", verbose_name=_("card")
    )
    action = models.CharField(max_length=16, choices=Action.choices, verbose_name=_("action"))
    from_status = models.CharField(max_length=16, blank=True, verbose_name=_("from status"))
    to_status = models.CharField(max_length=16, blank=True, verbose_name=_("to status"))

    class Meta(RecordedEvent.Meta):
        verbose_name = _("card event")
        verbose_name_plural = _("card events")

    def __str__(self) -> str:
        return f"{self.card} {self.get_action_display()}"


class CardKindEvent(RecordedEvent):
    """Every switch of a card kind off (no card of it is handed out, no batch imported) or on,
    with who and why."""

    class Action(models.TextChoices):
        SWITCHED_OFF = "switched_off", _("switched off")
        SWITCHED_ON = "switched_on", _("switched on")

    kind = models.ForeignKey(
        CardKind, on_delete=models.PROTECT, related_name="events", verbose_name=_("kind")
    )
    action = models.CharField(max_length=16, choices=Action.choices, verbose_name=_("action"))

    class Meta(RecordedEvent.Meta):
        verbose_name = _("card kind event")
        verbose_name_plural = _("card kind events")

    def __str__(self) -> str:
        return f"{self.kind.code} {self.get_action_display()}"


class CardUpload(models.Model):
    """A card file on its way into the pool: stored encrypted (``CardUploadPart``), checked in the
    background into ``StagedCard`` rows, imported on a manager's confirmation, purged at expiry.
    Nothing of it in clear ever touches the disk."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Checking")
        VALIDATED = "validated", _("Ready to import")
        IMPORTING = "importing", _("Importing")
        IMPORTED = "imported", _("Imported")
        FAILED = "failed", _("Refused")
        EXPIRED = "expired", _("Expired")

    kind = models.ForeignKey(
        CardKind, on_delete=models.PROTECT, related_name="uploads", verbose_name=_("kind")
    )
    supplier = models.CharField(max_length=100, blank=True, verbose_name=_("supplier"))
    file_name = models.CharField(max_length=255, verbose_name=_("file name"))
    content_sha256 = models.CharField(max_length=64, db_index=True, verbose_name=_("SHA-256"))
    size_bytes = models.PositiveBigIntegerField(verbose_name=_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.UPLOADED, verbose_name=_("status")
    )
    row_count = models.PositiveIntegerField(default=0, verbose_name=_("rows read"))
    progress = models.FloatField(default=0, verbose_name=_("progress"))
    error_count = models.PositiveIntegerField(default=0, verbose_name=_("problems"))
    errors = models.JSONField(default=list, blank=True, verbose_name=_("first problems"))
    sample = models.JSONField(default=list, blank=True, verbose_name=_("sample rows (masked)"))
    # the most common shape of the numbers and of the passwords (length and character classes,
    # nothing of the values): a later file of the kind with them the other way round is warned
    shapes = models.JSONField(default=dict, blank=True, verbose_name=_("column shapes"))
    warnings = models.JSONField(default=list, blank=True, verbose_name=_("warnings"))
    batch = models.OneToOneField(
        CardBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="upload",
        verbose_name=_("batch"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("uploaded at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))

    class Meta:
        verbose_name = _("card upload")
        verbose_name_plural = _("card uploads")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="cardupload_expiry")]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "uploaded",
                        "validated",
                        "importing",
                        "imported",
                        "failed",
                        "expired",
                    ]
                ),
                name="cardupload_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="imported") | Q(batch__isnull=False),
                name="cardupload_imported_has_batch",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name}"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.IMPORTED, self.Status.FAILED, self.Status.EXPIRED}


class CardUploadPart(models.Model):
    """One slice of an uploaded file (``PART_BYTES`` of it), Fernet-encrypted with the card
    keys. Slices let the checker stream a CSV without holding the whole file."""

    upload = models.ForeignKey(CardUpload, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["upload", "index"], name="carduploadpart_unique")
        ]

    def __str__(self) -> str:
        return f"{self.upload_id}/{self.index}"


class StagedCard(models.Model):
    """A checked row of an upload, encrypted as it will be in the pool. Confirming copies an
    upload's rows into ``Card`` in one statement and deletes them: all rows or none."""

    upload = models.ForeignKey(CardUpload, on_delete=models.CASCADE, related_name="+")
    row = models.PositiveIntegerField()
    number_encrypted = models.TextField()
    password_encrypted = models.TextField()
    number_digest = models.CharField(max_length=64)
    number_last4 = models.CharField(max_length=4)
    valid_until = models.DateField()

    def __str__(self) -> str:
        return f"{self.upload_id} row {self.row}"


class CardCount(models.Model):
    """How many cards of a kind were in a status with a validity date when the cluster last
    counted the pool (``cardpool.services.stock_counts``, every minute and after each import).
    The staff's pages read their stock here instead of counting a million cards on every page;
    allocation and the stock anomaly rules always count the pool itself."""

    kind = models.ForeignKey(CardKind, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Card.Status.choices)
    valid_until = models.DateField()
    cards = models.PositiveIntegerField()
    counted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "status", "valid_until"], name="cardcount_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind_id} {self.status} {self.valid_until}: {self.cards}"
