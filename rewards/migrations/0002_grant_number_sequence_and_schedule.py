from django.db import migrations


def create_schedule(apps, schema_editor):
    # Every 5 minutes: grants waiting for stock are issued soon after a batch is imported.
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="rewards.fulfil_pending_grants",
        defaults={
            "func": "rewards.tasks.fulfil_pending_grants",
            "schedule_type": "I",
            "minutes": 5,
            "repeats": -1,
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(
        name="rewards.fulfil_pending_grants"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [
        # Grant numbers come from this sequence (see rewards/numbers.py), never from the clock.
        migrations.RunSQL(
            "CREATE SEQUENCE rewards_grant_no_seq START 100001",
            "DROP SEQUENCE rewards_grant_no_seq",
        ),
        migrations.RunPython(create_schedule, delete_schedule),
    ]
