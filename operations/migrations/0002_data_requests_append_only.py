from django.db import migrations

# Invariant 11: UPDATE and DELETE refused in the database (core 0002's function).
TABLE = "operations_datarequest"


class Migration(migrations.Migration):
    dependencies = [("operations", "0001_initial"), ("core", "0002_append_only_function")]
    operations = [
        migrations.RunSQL(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_recorded_change()",
            f"DROP TRIGGER {TABLE}_append_only ON {TABLE}",
        )
    ]
