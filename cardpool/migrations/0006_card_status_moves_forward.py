"""A card's status only moves forward, in the database itself (invariant 14's card side, and
the incident's "fix": a manual UPDATE that re-marked used cards as free).

available -> assigned | void | expired, and assigned -> void; nothing ever becomes available
again, and a card a person voided (or one that expired) stays so, whatever an import, the expiry
task or a hand-written statement tries. A status written to itself is no change."""

from django.db import migrations

FUNCTION = """
CREATE FUNCTION refuse_card_status_going_back() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
        (OLD.status = 'available' AND NEW.status IN ('assigned', 'void', 'expired'))
        OR (OLD.status = 'assigned' AND NEW.status = 'void')
    ) THEN
        RAISE EXCEPTION 'card %: status % -> % is not allowed: a card only moves forward',
            OLD.id, OLD.status, NEW.status USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("cardpool", "0005_purge_uploads_and_dashless_digests"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION refuse_card_status_going_back()"),
        migrations.RunSQL(
            "CREATE TRIGGER cardpool_card_status_forward BEFORE UPDATE OF status "
            "ON cardpool_card FOR EACH ROW EXECUTE FUNCTION refuse_card_status_going_back()",
            "DROP TRIGGER cardpool_card_status_forward ON cardpool_card",
        ),
    ]
