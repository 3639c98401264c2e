from django.db import migrations

SCHEDULES = {
    # Every 15 minutes: qualified invitations left without a grant (a handler that failed, a
    # setting that deferred granting) are granted in batches; nothing to do is one query.
    "rewards.grant_missed_rewards": {
        "func": "rewards.tasks.grant_missed_rewards",
        "schedule_type": "I",
        "minutes": 15,
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
        ("rewards", "0010_verbose_names"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create_schedules, delete_schedules)]
