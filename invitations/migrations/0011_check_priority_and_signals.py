"""The scheduling policy's fields (invitations.scheduling): the priority the next check is taken
with, the last opening signal, and when a customer last asked us to check their friends. The
poller's index now leads with the priority; it is built before the old one is dropped, both
concurrently (the invitation table is large and polled all the time)."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # concurrent index operations cannot run inside a transaction

    dependencies = [
        ("invitations", "0010_phone_verification_and_verbose_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="checks_requested_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="asked to check friends at"
            ),
        ),
        migrations.AddField(
            model_name="invitation",
            name="check_priority",
            field=models.PositiveSmallIntegerField(
                choices=[(0, "opening signal"), (1, "young invitation"), (2, "routine")],
                default=1,
                db_default=1,  # rows inserted in SQL (fixtures, imports) get it too
                verbose_name="check priority",
            ),
        ),
        migrations.AddField(
            model_name="invitation",
            name="signal_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="opening signal at"),
        ),
        AddIndexConcurrently(
            model_name="invitation",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["check_priority", "next_check_at"],
                name="invitation_due_by_priority",
            ),
        ),
        RemoveIndexConcurrently(model_name="invitation", name="invitation_due"),
    ]
