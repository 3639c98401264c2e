from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0006_history_is_append_only"),
        ("invitations", "0007_customer_events_and_flags"),
    ]
    operations = [
        # the same protection as 0006 (invariant 11), for the customer events added since
        migrations.RunSQL(
            "CREATE TRIGGER invitations_customerevent_append_only BEFORE UPDATE OR DELETE ON "
            "invitations_customerevent FOR EACH ROW EXECUTE FUNCTION refuse_history_change()",
            "DROP TRIGGER invitations_customerevent_append_only ON invitations_customerevent",
        )
    ]
