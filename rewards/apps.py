from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"

    def ready(self):
        from . import reauth  # noqa: F401  (connects the login time stamp)
