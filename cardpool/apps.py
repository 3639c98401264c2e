from django.apps import AppConfig


class CardpoolConfig(AppConfig):
    name = "cardpool"
    verbose_name = "Card pool"
