from django.db import migrations

# Invariant 11 for the apps below rewards (whose own function, refuse_history_change, came with
# its migration 0006): one function every RecordedEvent table's trigger calls.
FUNCTION = """
CREATE FUNCTION refuse_recorded_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on %: history is append-only (invariant 11); record a new entry instead',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunSQL(FUNCTION, "DROP FUNCTION refuse_recorded_change()")]
