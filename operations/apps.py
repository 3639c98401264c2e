from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    """What an operator runs around the product: staff groups, the demo, health and metrics,
    and people's requests about their data."""

    name = "operations"
    verbose_name = _("Operations")
