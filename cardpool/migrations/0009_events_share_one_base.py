"""Card and card kind events share core.models.RecordedEvent: a card kind event can name a
system actor like every other event, and its reason is checked by the service (required_reason)
as every other event's is. Adding a column with a default updates no row, so the append-only
trigger (rewards 0019) is not fired."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cardpool", "0008_upload_shapes_and_warnings"),
    ]

    operations = [
        migrations.AddField(
            model_name="cardkindevent",
            name="actor_label",
            field=models.CharField(
                blank=True,
                help_text="System actor, if any.",
                max_length=100,
                verbose_name="actor label",
            ),
        ),
        migrations.AlterField(
            model_name="cardkindevent",
            name="reason",
            field=models.TextField(blank=True, verbose_name="reason"),
        ),
    ]
