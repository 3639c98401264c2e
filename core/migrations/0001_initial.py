"""The shared rate limiter's table (it was invitations_upstreamratelimit, invitations 0017)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='RateLimit',
            fields=[
                ('name', models.CharField(max_length=50, primary_key=True, serialize=False, verbose_name='name')),
                ('next_free_at', models.DateTimeField(verbose_name='next free at')),
            ],
            options={
                'verbose_name': 'rate limit',
                'verbose_name_plural': 'rate limits',
            },
        ),
    ]
