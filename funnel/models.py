"""A campaign's funnel as the cluster counted it (``services.refresh_funnels``): the staff's
funnel page reads these few rows, never the million invitations behind them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FunnelDay(models.Model):
    """One campaign's day (Beijing time): how many did each step."""

    campaign = models.ForeignKey(
        "invitations.Campaign",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("campaign"),
    )
    day = models.DateField(verbose_name=_("day"))
    visits = models.PositiveIntegerField(default=0, verbose_name=_("link visits"))
    verified = models.PositiveIntegerField(default=0, verbose_name=_("phones verified"))
    opened = models.PositiveIntegerField(default=0, verbose_name=_("accounts opened"))
    funded = models.PositiveIntegerField(default=0, verbose_name=_("accounts funded"))
    rewarded = models.PositiveIntegerField(default=0, verbose_name=_("inviters rewarded"))
    cost = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, verbose_name=_("cost (yuan)")
    )

    class Meta:
        verbose_name = _("funnel day")
        verbose_name_plural = _("funnel days")
        ordering = ["campaign", "day"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "day"], name="funnel_day_once"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.day}"


class FunnelSummary(models.Model):
    """One campaign's figures that are not by day, counted with its days."""

    campaign = models.OneToOneField(
        "invitations.Campaign",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("campaign"),
    )
    refreshed_at = models.DateTimeField(verbose_name=_("counted at"))
    grants = models.PositiveIntegerField(default=0, verbose_name=_("live rewards"))
    friends_rewarded = models.PositiveIntegerField(default=0, verbose_name=_("friends rewarded"))
    held = models.PositiveIntegerField(default=0, verbose_name=_("held for review"))
    held_for_fraud = models.PositiveIntegerField(
        default=0, verbose_name=_("held for fraud signals")
    )
    spent = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, verbose_name=_("spent (yuan)")
    )
    stock = models.PositiveIntegerField(default=0, verbose_name=_("cards in stock"))
    # the inviters' rewards by the ladder's step they were paid on: [[from, count], ...]
    ladder = models.JSONField(default=list, blank=True, verbose_name=_("rewards by step"))

    class Meta:
        verbose_name = _("campaign funnel")
        verbose_name_plural = _("campaign funnels")
        ordering = ["-campaign__starts_at"]

    def __str__(self) -> str:
        return str(self.campaign)
