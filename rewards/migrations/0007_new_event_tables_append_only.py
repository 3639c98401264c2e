from django.db import migrations

# The same protection as 0006 (invariant 11), for the event tables added since.
TABLES = ("invitations_customerevent", "invitations_invitationevent")


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0006_history_is_append_only"),
        ("invitations", "0008_invitation_events_and_staff_channel"),
    ]
    operations = [
        migrations.RunSQL(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_history_change()",
            f"DROP TRIGGER {table}_append_only ON {table}",
        )
        for table in TABLES
    ]
