"""One open report per card: an active ``card_reported`` anomaly is unique per grant (a grant has
one card). Reversible: the constraint is dropped on the way back."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0016_grant_waiting_by_kind"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="anomaly",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("kind", "card_reported"), ("status__in", ["open", "acknowledged"])
                ),
                fields=("grant",),
                name="anomaly_one_open_report_per_grant",
            ),
        ),
    ]
