"""Invariant 17: a grant carries the terms it was earned on (card kind and face value, and the
campaign's cap per inviter then; points it carried already), so that a waiting grant is issued,
and an issued one reissued, on those terms whatever the campaign says later, and a cap lowered
later does not turn it into a breach.

Existing grants: an issued or void grant with a card takes its card's kind; a grant without a
card takes its campaign's kind today, and every grant its campaign's cap today: the best record
there is (before this migration nothing kept either)."""

import django.db.models.deletion
from django.db import migrations, models

# Foreign keys are checked at once, so that the same transaction can then set NOT NULL
# (PostgreSQL refuses ALTER TABLE while deferred checks are pending).
BACKFILL = """
SET CONSTRAINTS ALL IMMEDIATE;

UPDATE rewards_grant g SET card_kind_id = coalesce(
    (SELECT c.kind_id FROM cardpool_card c WHERE c.id = g.card_id),
    (SELECT m.card_kind_id FROM invitations_campaign m WHERE m.id = g.campaign_id));

UPDATE rewards_grant g SET face_value = k.face_value
FROM cardpool_cardkind k WHERE k.id = g.card_kind_id;

UPDATE rewards_grant g SET cap = m.max_rewards_per_inviter
FROM invitations_campaign m WHERE m.id = g.campaign_id;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("cardpool", "0006_card_status_moves_forward"),
        ("rewards", "0014_one_automatic_grant_per_invitation"),
    ]

    operations = [
        migrations.AddField(
            model_name="grant",
            name="card_kind",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="grants",
                to="cardpool.cardkind",
                verbose_name="card kind",
            ),
        ),
        migrations.AddField(
            model_name="grant",
            name="face_value",
            field=models.DecimalField(
                decimal_places=2, max_digits=10, null=True, verbose_name="face value"
            ),
        ),
        migrations.AddField(
            model_name="grant",
            name="cap",
            field=models.PositiveIntegerField(null=True, verbose_name="cap when earned"),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="grant",
            name="card_kind",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="grants",
                to="cardpool.cardkind",
                verbose_name="card kind",
            ),
        ),
        migrations.AlterField(
            model_name="grant",
            name="cap",
            field=models.PositiveIntegerField(verbose_name="cap when earned"),
        ),
        migrations.AlterField(
            model_name="grant",
            name="face_value",
            field=models.DecimalField(decimal_places=2, max_digits=10, verbose_name="face value"),
        ),
    ]
