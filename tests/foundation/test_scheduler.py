from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_q.scheduler import scheduler

from cardpool.models import Card
from tests.factories import make_cards


@pytest.mark.django_db
def test_schedules_are_created_by_migrations_once():
    assert Schedule.objects.filter(name="cardpool.expire_cards").count() == 1


@pytest.mark.django_db
def test_a_due_schedule_runs_its_task(card_kind):
    # given an expired card and the expiry schedule due now
    card = make_cards(card_kind, 1)[0]
    Card.objects.filter(pk=card.pk).update(valid_until=timezone.localdate() - timedelta(days=1))
    Schedule.objects.filter(name="cardpool.expire_cards").update(
        next_run=timezone.now() - timedelta(seconds=1)
    )
    # when the scheduler fires (tasks run inline: Conf is read at import, so patch it)
    with mock.patch("django_q.conf.Conf.SYNC", True):
        scheduler()
    # then the task ran and the schedule moved on
    card.refresh_from_db()
    assert card.status == Card.Status.EXPIRED
    schedule = Schedule.objects.get(name="cardpool.expire_cards")
    assert schedule.next_run > timezone.now()


@pytest.mark.django_db
def test_sync_schedules_applies_changed_intervals(settings, capsys):
    from django.core.management import call_command

    settings.SCHEDULE_INTERVALS = {
        "invitations.poll_invitations": 7,
        "rewards.detect_anomalies": 11,
    }
    settings.POLL_INTERVAL_MINUTES = 7
    call_command("sync_schedules")
    call_command("sync_schedules")
    minutes = dict(
        Schedule.objects.filter(name__in=settings.SCHEDULE_INTERVALS).values_list("name", "minutes")
    )
    assert minutes == {"invitations.poll_invitations": 7, "rewards.detect_anomalies": 11}
    assert Schedule.objects.filter(name="rewards.detect_anomalies").count() == 1
    assert "rewards.detect_anomalies: every 11 minute(s)" in capsys.readouterr().out
