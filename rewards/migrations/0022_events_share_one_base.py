"""Grant events share core.models.RecordedEvent (only the help text of actor_label changes)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0021_anomaly_rule_failed"),
    ]

    operations = [
        migrations.AlterField(
            model_name="grantevent",
            name="actor_label",
            field=models.CharField(
                blank=True,
                help_text="System actor, if any.",
                max_length=100,
                verbose_name="actor label",
            ),
        ),
    ]
