from django.conf import settings
from django.db import migrations

SCHEDULES = {
    # Every ANOMALY_INTERVAL_MINUTES (5 by default): a failure is seen within minutes, not days.
    "rewards.detect_anomalies": {
        "func": "rewards.tasks.detect_anomalies",
        "schedule_type": "I",
        "minutes": settings.ANOMALY_INTERVAL_MINUTES,
        "repeats": -1,
    },
    # Daily: the full reconciliation, stored for the dashboard.
    "rewards.reconcile": {
        "func": "rewards.tasks.reconcile",
        "schedule_type": "D",
        "repeats": -1,
    },
}


def create_schedules(apps, schema_editor):
    for name, fields in SCHEDULES.items():
        apps.get_model("django_q", "Schedule").objects.update_or_create(name=name, defaults=fields)


def delete_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0004_anomaly_rules_and_reconciliation"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create_schedules, delete_schedules)]
