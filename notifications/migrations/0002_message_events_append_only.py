from django.db import migrations

# Invariant 11 for the messages' staff actions: UPDATE and DELETE refused in the database. Its own
# function (the same words as rewards' refuse_history_change), so that this app, below rewards,
# needs none of rewards' migrations.
TABLE = "notifications_messageevent"

FUNCTION = """
CREATE FUNCTION refuse_message_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on %: history is append-only (invariant 11); record a new entry instead',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]
    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION refuse_message_history_change()"),
        migrations.RunSQL(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_message_history_change()",
            f"DROP TRIGGER {TABLE}_append_only ON {TABLE}",
        ),
    ]
