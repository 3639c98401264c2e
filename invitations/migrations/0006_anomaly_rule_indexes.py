from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built concurrently: the invitation table is large in production, and a plain CREATE INDEX
    # would block the poller's writes for as long as it takes.
    atomic = False

    dependencies = [("invitations", "0005_campaignevent")]

    operations = [
        AddIndexConcurrently(
            model_name="invitation",
            index=models.Index(
                condition=models.Q(("status", "qualified")),
                fields=["decided_at"],
                name="invitation_qualified_at",
            ),
        ),
        AddIndexConcurrently(
            model_name="invitation",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["qualify_by"],
                name="invitation_pending_by",
            ),
        ),
    ]
