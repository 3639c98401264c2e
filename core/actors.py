"""The processes that act without a person, as events name them (``actor_label``). One list, so
that the admin's filters and the tests name each the same way."""

from django.db import models


class SystemActor(models.TextChoices):
    SCHEDULER = "scheduler"  # a django-q2 schedule (expiry, reconciliation, purges)
    POLLER = "poller"  # the account-opening poller deciding an invitation
    GRANTS = "rewards"  # the grant path: a qualified invitation's grant and its card
    DETECTION = "anomaly detection"
    RECONCILE_COMMAND = "manage.py reconcile"
