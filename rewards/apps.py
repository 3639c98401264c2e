from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RewardsConfig(AppConfig):
    name = "rewards"
    verbose_name = _("Rewards")

    def ready(self):
        from . import (
            reauth,  # noqa: F401  (connects the login time stamp)
            receivers,  # noqa: F401  (grants on qualification, issues on import)
        )
