from django.db import migrations

# The same protection as 0006 (invariant 11), for the card kinds' switch history.
TABLE = "cardpool_cardkindevent"


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0018_account_counted_once_anywhere"),
        ("cardpool", "0007_card_kind_events"),
    ]
    operations = [
        migrations.RunSQL(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_history_change()",
            f"DROP TRIGGER {TABLE}_append_only ON {TABLE}",
        )
    ]
