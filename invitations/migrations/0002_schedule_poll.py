from django.db import migrations


def create_schedule(apps, schema_editor):
    from invitations.schedules import ensure_poll_schedule

    ensure_poll_schedule(apps.get_model("django_q", "Schedule"))


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(
        name="invitations.poll_invitations"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("invitations", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create_schedule, delete_schedule)]
