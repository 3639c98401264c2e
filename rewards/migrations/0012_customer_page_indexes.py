"""The customer's "my rewards" and "my points" pages read one customer's rows newest first, a
page at a time; without these indexes PostgreSQL walked every grant newest first and filtered
(18,981 rows read for a page of 20 at 100,000 grants) or sorted all of a customer's entries.
Built without blocking writes."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # concurrent index operations cannot run inside a transaction

    dependencies = [
        ("rewards", "0011_schedule_the_missed_rewards_sweep"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="grant",
            index=models.Index(fields=["inviter", "-created_at", "-id"], name="grant_by_inviter"),
        ),
        AddIndexConcurrently(
            model_name="pointsentry",
            index=models.Index(
                fields=["customer", "-created_at", "-id"],
                include=["amount"],
                name="points_by_customer",
            ),
        ),
    ]
