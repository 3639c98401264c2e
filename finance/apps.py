from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinanceConfig(AppConfig):
    """Finance's exports: the grants of a period, card use per import batch, the points
    ledger; each one recorded, written by the worker cluster, downloaded by whoever asked."""

    name = "finance"
    verbose_name = _("Finance")
