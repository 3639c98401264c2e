from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built concurrently (the table holds millions of rows; a plain CREATE INDEX would block
    # its writes while it reads them all). It holds only the cards whose number or password
    # is not a Fernet token: empty while the
    # invariant holds, and an anomaly rule's whole read.
    atomic = False

    dependencies = [
        ("cardpool", "0012_card_count"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="card",
            index=models.Index(
                condition=models.Q(
                    models.Q(("number_encrypted__startswith", "gAAAAA"), _negated=True),
                    models.Q(("password_encrypted__startswith", "gAAAAA"), _negated=True),
                    _connector="OR",
                ),
                fields=["id"],
                name="card_secret_not_a_token",
            ),
        ),
    ]
