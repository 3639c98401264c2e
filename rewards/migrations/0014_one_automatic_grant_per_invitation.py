"""Invariant 14 held by the database: the automatic paths make one grant per invitation, ever.
A unique index built without blocking writes to the grants table, then recorded as the model's
constraint."""

from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("rewards", "0013_grant_origin"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "
                    "grant_one_automatic_per_invitation ON rewards_grant (invitation_id) "
                    "WHERE origin = 'automatic'",
                    reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS "
                    "grant_one_automatic_per_invitation",
                ),
            ],
            state_operations=[
                migrations.AddConstraint(
                    model_name="grant",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("origin", "automatic")),
                        fields=("invitation",),
                        name="grant_one_automatic_per_invitation",
                    ),
                ),
            ],
        ),
    ]
