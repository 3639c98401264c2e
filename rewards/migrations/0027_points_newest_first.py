from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built concurrently: the ledger grows with every grant, and a plain CREATE INDEX would
    # block the grants' writes for as long as it takes.
    atomic = False

    dependencies = [("rewards", "0026_campaign_budget")]

    operations = [
        AddIndexConcurrently(
            model_name="pointsentry",
            index=models.Index(fields=["-created_at", "-id"], name="points_newest_first"),
        ),
    ]
