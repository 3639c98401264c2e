"""Signed account-opening events (account_opening.events): kept by id against replays, and
counted per minute and outcome for /metrics. Purged after a day (invitations/schedules.py)."""

import django.contrib.postgres.fields
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invitations", "0017_rate_limit_moves_to_core"),
    ]

    operations = [
        migrations.CreateModel(
            name="OpeningEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "event_id",
                    models.CharField(max_length=255, unique=True, verbose_name="event id"),
                ),
                ("sender", models.CharField(max_length=64, verbose_name="sender")),
                ("sent_at", models.DateTimeField(verbose_name="sent at")),
                (
                    "received_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="received at"
                    ),
                ),
                (
                    "invitation_ids",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.BigIntegerField(),
                        blank=True,
                        default=list,
                        size=None,
                        verbose_name="invitations",
                    ),
                ),
            ],
            options={
                "verbose_name": "account opening event",
                "verbose_name_plural": "account opening events",
                "indexes": [
                    models.Index(fields=["sender", "received_at"], name="opening_event_by_sender"),
                    models.Index(fields=["received_at"], name="opening_event_by_time"),
                ],
            },
        ),
        migrations.CreateModel(
            name="OpeningEventCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("minute", models.DateTimeField(verbose_name="minute")),
                ("outcome", models.CharField(max_length=20, verbose_name="outcome")),
                ("count", models.PositiveIntegerField(default=0, verbose_name="count")),
            ],
            options={
                "verbose_name": "account opening event count",
                "verbose_name_plural": "account opening event counts",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("minute", "outcome"), name="one_count_per_minute"
                    )
                ],
            },
        ),
    ]
