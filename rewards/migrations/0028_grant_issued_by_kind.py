from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built concurrently: a plain CREATE INDEX would block the grants' writes while it runs.
    atomic = False

    dependencies = [("rewards", "0027_points_newest_first")]

    operations = [
        AddIndexConcurrently(
            model_name="grant",
            index=models.Index(
                condition=models.Q(("status", "issued")),
                fields=["card_kind", "created_at"],
                name="grant_issued_by_kind",
            ),
        ),
    ]
