"""Every export asked for: who, what, which period, whether it shows full phone numbers, and how
far its writing got. The file is kept ``EXPORT_KEEP_DAYS`` (it holds personal data), the
record for good."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Export(models.Model):
    class Kind(models.TextChoices):
        GRANTS = "grants", _("rewards granted in the period")
        CARD_BATCHES = "card_batches", _("card use per import batch (imported in the period)")
        POINTS = "points", _("points ledger of the period")

    class Format(models.TextChoices):
        CSV = "csv", _("CSV (UTF-8, opens in Excel)")
        XLSX = "xlsx", _("Excel workbook (XLSX)")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("being written")
        DONE = "done", _("ready")
        FAILED = "failed", _("failed")
        REMOVED = "removed", _("file removed (kept days passed)")

    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("export"))
    format = models.CharField(max_length=4, choices=Format.choices, verbose_name=_("format"))
    period_start = models.DateField(verbose_name=_("from (Beijing time)"))
    period_end = models.DateField(verbose_name=_("to, inclusive"))
    full_phones = models.BooleanField(
        default=False,
        help_text=_("Whether the file shows full numbers: only for staff allowed to see them."),
        verbose_name=_("full phone numbers"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("requested at"))
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.QUEUED, verbose_name=_("status")
    )
    rows = models.PositiveIntegerField(default=0, verbose_name=_("rows written"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    error = models.CharField(max_length=500, blank=True, verbose_name=_("error"))
    downloads = models.PositiveIntegerField(default=0, verbose_name=_("downloads"))

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="export_period_in_order",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.period_start}..{self.period_end}"

    @property
    def file_name(self) -> str:
        return f"{self.kind}-{self.period_start}-{self.period_end}-{self.pk}.{self.format}"
