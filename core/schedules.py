"""The worker cluster's schedules, one registry: each app declares its own in its
``schedules.py`` (``SCHEDULES``, a list of ``Every``), and ``sync_schedules`` brings django-q2's
Schedule table in line with them after every ``migrate`` (``CoreConfig.ready``) and when run by
hand (``manage.py sync_schedules``) after a changed interval setting.

Created and updated by name with ``update_or_create`` (django-q2's ``schedule()`` checks with a
racy ``exists()``, and names are not unique in its table). A schedule's next run is kept: a
changed interval applies from the next tick."""

from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Every:
    """A task run every ``minutes`` (a number, or the name of the setting that holds it), or
    hourly or daily (``schedule_type`` "H" or "D")."""

    name: str
    func: str  # dotted path of the task: checked when the registry is read
    minutes: int | str | None = None
    schedule_type: str = "I"

    def fields(self) -> dict:
        minutes = getattr(settings, self.minutes) if isinstance(self.minutes, str) else self.minutes
        return {
            "func": self.func,
            "schedule_type": self.schedule_type,
            "minutes": minutes if self.schedule_type == "I" else None,
            "repeats": -1,
        }


def registered() -> list[Every]:
    """Every installed app's schedules, in app order. Raises ``ImportError`` for a task that
    does not exist: a typo fails the deployment's migrate, not the schedule at night."""
    found = []
    for app in apps.get_app_configs():
        try:
            module = __import__(f"{app.name}.schedules", fromlist=["SCHEDULES"])
        except ModuleNotFoundError as missing:
            if missing.name != f"{app.name}.schedules":
                raise
            continue
        for every in getattr(module, "SCHEDULES", ()):
            import_string(every.func)
            found.append(every)
    return found


def sync_schedules(*, update: bool = True) -> list[tuple[Every, bool]]:
    """Create every registered schedule that is missing and, with ``update`` (a person ran
    ``sync_schedules``), bring the existing ones in line with the registry too; returns each
    with whether it was created. ``migrate`` only creates: a schedule staff changed in the admin
    stays as they left it until a person syncs."""
    from django_q.models import Schedule

    synced = []
    for every in registered():
        write = Schedule.objects.update_or_create if update else Schedule.objects.get_or_create
        _, created = write(name=every.name, defaults=every.fields())
        synced.append((every, created))
    return synced
