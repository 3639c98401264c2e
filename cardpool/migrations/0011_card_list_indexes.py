from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built concurrently: the card table holds millions of rows in production, and a plain
    # CREATE INDEX would block allocation's writes for as long as it takes.
    atomic = False

    dependencies = [("cardpool", "0010_remove_legacy_upload_files")]

    operations = [
        AddIndexConcurrently(
            model_name="card",
            index=models.Index(fields=["valid_until"], name="card_by_validity"),
        ),
        AddIndexConcurrently(
            model_name="card",
            index=models.Index(fields=["status", "id"], name="card_by_status"),
        ),
    ]
