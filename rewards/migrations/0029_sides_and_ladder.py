import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    # The columns only (a column with a constant default is written without rewriting the
    # table); 0030 moves the unique indexes from the invitation to the invitation and side.
    dependencies = [
        ("cardpool", "0013_detection_indexes"),
        ("invitations", "0024_sides_and_ladder"),
        ("rewards", "0028_grant_issued_by_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="grant",
            name="place",
            field=models.PositiveIntegerField(blank=True, null=True, verbose_name="friend no."),
        ),
        migrations.AddField(
            model_name="grant",
            name="side",
            field=models.CharField(
                choices=[("inviter", "the inviter"), ("friend", "the invited friend")],
                db_default="inviter",
                default="inviter",
                max_length=8,
                verbose_name="side",
            ),
        ),
        migrations.AlterField(
            model_name="grant",
            name="inviter",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="grants",
                to="invitations.customer",
                verbose_name="customer",
            ),
        ),
        migrations.AddConstraint(
            model_name="grant",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("side", "inviter"),
                    models.Q(("place__isnull", True), ("side", "friend")),
                    _connector="OR",
                ),
                name="grant_place_on_inviters_side",
            ),
        ),
    ]
