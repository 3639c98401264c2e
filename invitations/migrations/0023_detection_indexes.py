from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built concurrently (the table holds millions of rows; a plain CREATE INDEX would block
    # its writes while it reads them all). It holds only the invitations whose account was
    # opened before them: empty while the
    # invariant holds, and an anomaly rule's whole read.
    atomic = False

    dependencies = [
        ("invitations", "0022_campaign_budget"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="invitation",
            index=models.Index(
                condition=models.Q(("account_opened_at__lt", models.F("invited_at"))),
                fields=["id"],
                name="invitation_opened_before",
            ),
        ),
    ]
