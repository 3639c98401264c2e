"""The shared rate limiter's table moves to core (core 0001, core_ratelimit), below every app
that uses it. Its only row is the next free slot to the upstream: nothing worth copying (a fresh
table lets the next request go at once, paced from then on). Reversible: the old table comes
back empty."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("invitations", "0016_consent_and_code_retention"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(
            name="UpstreamRateLimit",
        ),
    ]
