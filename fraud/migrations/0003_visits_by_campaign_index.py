# The index is built CONCURRENTLY, outside a transaction, in a migration of its own (the column
# came in 0002): the sightings table takes a row an hour per browser on every referral page and
# may be large. A failed build leaves an INVALID index: DROP INDEX CONCURRENTLY
# sighting_visits_by_campaign, then migrate again.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("fraud", "0002_visits_name_their_campaign"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="sighting",
            index=models.Index(
                condition=models.Q(("step", "link_visit")),
                fields=["campaign_id", "seen_at"],
                name="sighting_visits_by_campaign",
            ),
        ),
    ]
