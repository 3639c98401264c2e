from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")

    def ready(self):
        from .choice_literals import register

        register()
        post_migrate.connect(_sync_schedules, sender=self, dispatch_uid="core.sync_schedules")


def _sync_schedules(using, plan=None, **kwargs) -> None:
    """After every migrate: every schedule the apps declare exists (none is changed: what staff
    set in the admin is a person's decision; ``manage.py sync_schedules`` applies the registry)."""
    from django.db import connections

    from .schedules import sync_schedules

    if "django_q_schedule" in connections[using].introspection.table_names():
        sync_schedules(update=False)
