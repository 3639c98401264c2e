from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """What an operator runs around the product: staff groups and the demo. No models."""

    name = "operations"
