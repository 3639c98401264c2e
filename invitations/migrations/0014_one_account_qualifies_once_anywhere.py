"""Invariant 3 across campaigns: one opened account qualifies at most one invitation, whatever
the campaign (it was once per campaign, so a friend invited by two people in two overlapping
campaigns paid two rewards).

Accounts that already qualified invitations in several campaigns keep the first to qualify;
the others are recorded as rejected, with the reason and an event, as the poller records them
from now on. Their grants are not touched here: money already paid is for a person to review,
and the ``account_counted_twice`` rule names every account with more than one live grant until
they do. The unique index is then built without blocking writes."""

from django.db import migrations, models

REJECT_LATER_QUALIFICATIONS = """
WITH ranked AS (
    SELECT id, external_account_id,
           first_value(id) OVER (PARTITION BY external_account_id
                                 ORDER BY decided_at NULLS LAST, id) AS first_id
    FROM invitations_invitation
    WHERE status = 'qualified' AND external_account_id IS NOT NULL
), rejected AS (
    UPDATE invitations_invitation i
    SET status = 'rejected',
        rejection_reason = 'account ' || r.external_account_id
                           || ' was already counted for invitation #' || r.first_id
    FROM ranked r
    WHERE i.id = r.id AND r.id <> r.first_id
    RETURNING i.id, i.rejection_reason
)
INSERT INTO invitations_invitationevent (invitation_id, action, details, actor_id, actor_label,
                                         reason, created_at)
SELECT id, 'rejected', '{}'::jsonb, NULL, 'migration invitations 0014', rejection_reason, now()
FROM rejected
"""

INDEX = "invitation_qualifies_once_per_account_anywhere"


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("invitations", "0013_phones_are_ascii"),
    ]

    operations = [
        migrations.RunSQL(REJECT_LATER_QUALIFICATIONS, reverse_sql=migrations.RunSQL.noop),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                # an index left invalid by an interrupted build is built again
                migrations.RunSQL(
                    f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}",
                    reverse_sql=migrations.RunSQL.noop,
                ),
                migrations.RunSQL(
                    f"CREATE UNIQUE INDEX CONCURRENTLY {INDEX} ON invitations_invitation "
                    "(external_account_id) WHERE status = 'qualified'",
                    reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}",
                ),
            ],
            state_operations=[
                migrations.AddConstraint(
                    model_name="invitation",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("status", "qualified")),
                        fields=("external_account_id",),
                        name=INDEX,
                    ),
                ),
            ],
        ),
        migrations.RemoveConstraint(
            model_name="invitation",
            name="invitation_qualifies_once_per_account",
        ),
    ]
