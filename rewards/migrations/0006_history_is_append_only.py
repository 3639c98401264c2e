from django.db import migrations

# Invariant 11: history cannot be rewritten, not even by a hand-written SQL statement. The points
# ledger and every event table refuse UPDATE and DELETE in the database itself. (The incident's
# "fix" was a manual UPDATE that re-marked used cards as free; a trail that can be edited the
# same way proves nothing.) TRUNCATE, which only an owner can run, is not a row change and is
# not refused: test suites and a deliberate restore use it.
TABLES = (
    "rewards_pointsentry",
    "rewards_grantevent",
    "cardpool_cardevent",
    "invitations_campaignevent",
)

FUNCTION = """
CREATE FUNCTION refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on %: history is append-only (invariant 11); record a new entry instead',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;
"""


def trigger(table: str) -> migrations.RunSQL:
    return migrations.RunSQL(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION refuse_history_change()",
        f"DROP TRIGGER {table}_append_only ON {table}",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0005_schedule_detection_and_reconciliation"),
        ("cardpool", "0002_schedule_expire_cards"),
        ("invitations", "0006_anomaly_rule_indexes"),
    ]
    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION refuse_history_change()"),
        *(trigger(table) for table in TABLES),
    ]
