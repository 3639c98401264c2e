"""Restock fulfilment reads a kind's waiting grants oldest first by the kind stored on each
grant (invariant 17). Built without blocking writes."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # concurrent index operations cannot run inside a transaction

    dependencies = [
        ("rewards", "0015_grant_terms"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="grant",
            index=models.Index(
                condition=models.Q(("status", "pending_stock")),
                fields=["card_kind", "created_at", "id"],
                name="grant_waiting_by_kind",
            ),
        ),
    ]
