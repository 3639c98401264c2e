from django.db import migrations, models

# Built concurrently (a plain CREATE UNIQUE INDEX would block the grants' writes while it
# runs), the new ones before the old ones go, so no moment is without a guard. Going back fails
# with a clear unique violation once an invitation has grants on both sides: drop the friends'
# grants' second live grant first, or stay.
NEW = {
    "grant_one_live_per_side": (
        '("invitation_id", "side") WHERE NOT ("status" = \'void\')',
        models.UniqueConstraint(
            condition=models.Q(("status", "void"), _negated=True),
            fields=("invitation", "side"),
            name="grant_one_live_per_side",
        ),
    ),
    "grant_one_automatic_per_side": (
        '("invitation_id", "side") WHERE "origin" = \'automatic\'',
        models.UniqueConstraint(
            condition=models.Q(("origin", "automatic")),
            fields=("invitation", "side"),
            name="grant_one_automatic_per_side",
        ),
    ),
    "grant_one_automatic_per_place": (
        '("inviter_id", "campaign_id", "place") WHERE "origin" = \'automatic\'',
        models.UniqueConstraint(
            condition=models.Q(("origin", "automatic")),
            fields=("inviter", "campaign", "place"),
            name="grant_one_automatic_per_place",
        ),
    ),
    "grant_one_live_per_place": (
        '("inviter_id", "campaign_id", "place") WHERE NOT ("status" = \'void\')',
        models.UniqueConstraint(
            condition=models.Q(("status", "void"), _negated=True),
            fields=("inviter", "campaign", "place"),
            name="grant_one_live_per_place",
        ),
    ),
}
OLD = {
    "grant_one_live_per_invitation": (
        '("invitation_id") WHERE NOT ("status" = \'void\')',
        models.UniqueConstraint(
            condition=models.Q(("status", "void"), _negated=True),
            fields=("invitation",),
            name="grant_one_live_per_invitation",
        ),
    ),
    "grant_one_automatic_per_invitation": (
        '("invitation_id") WHERE "origin" = \'automatic\'',
        models.UniqueConstraint(
            condition=models.Q(("origin", "automatic")),
            fields=("invitation",),
            name="grant_one_automatic_per_invitation",
        ),
    ),
}


def _create(name: str, columns: str) -> str:
    return f'CREATE UNIQUE INDEX CONCURRENTLY "{name}" ON "rewards_grant" {columns}'


def _drop(name: str) -> str:
    return f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"'


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("rewards", "0029_sides_and_ladder")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                *(
                    migrations.RunSQL(_create(name, columns), _drop(name))
                    for name, (columns, _) in NEW.items()
                ),
                *(
                    migrations.RunSQL(_drop(name), _create(name, columns))
                    for name, (columns, _) in OLD.items()
                ),
            ],
            state_operations=[
                *(migrations.RemoveConstraint(model_name="grant", name=name) for name in OLD),
                *(
                    migrations.AddConstraint(model_name="grant", constraint=constraint)
                    for _, constraint in NEW.values()
                ),
            ],
        ),
    ]
