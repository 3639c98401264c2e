from django.db import migrations


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    # Hourly: a card past its date must never be allocated (allocation also filters by date,
    # so this only keeps the stock figures honest); catching up within the hour is enough.
    Schedule.objects.update_or_create(
        name="cardpool.expire_cards",
        defaults={
            "func": "cardpool.tasks.expire_cards_task",
            "schedule_type": "H",
            "repeats": -1,
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="cardpool.expire_cards").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cardpool", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create_schedule, delete_schedule)]
