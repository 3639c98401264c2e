from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_q.scheduler import scheduler

from cardpool.models import Card
from tests.factories import make_cards

SCHEDULE_MIGRATIONS = {
    "cardpool.migrations.0002_schedule_expire_cards": "create_schedule",
    "invitations.migrations.0002_schedule_poll": "create_schedule",
    "rewards.migrations.0002_grant_number_sequence_and_schedule": "create_schedule",
    "rewards.migrations.0005_schedule_detection_and_reconciliation": "create_schedules",
    "cardpool.migrations.0005_purge_uploads_and_dashless_digests": "create_schedule",
    "rewards.migrations.0011_schedule_the_missed_rewards_sweep": "create_schedules",
    "invitations.migrations.0016_consent_and_code_retention": "create_schedule",
}
SCHEDULES = {
    "cardpool.expire_cards",
    "cardpool.purge_expired_uploads",
    "cardpool.count_cards",
    "finance.remove_old_exports",
    "fraud.purge_sightings",
    "funnel.refresh_funnels",
    "invitations.erase_unopened_phones",
    "invitations.poll_invitations",
    "invitations.plan_polling",
    "invitations.purge_opening_events",
    "invitations.purge_phone_verifications",
    "notifications.deliver_messages",
    "rewards.fulfil_pending_grants",
    "rewards.grant_missed_rewards",
    "rewards.detect_anomalies",
    "rewards.remind_unopened_cards",
    "signin.purge_used_handoffs",
    "rewards.reconcile",
}


@pytest.mark.django_db
def test_every_schedule_is_created_by_migrations_once_even_if_they_run_again():
    import importlib

    from django.apps import apps

    # when the data migrations run a second time (a squash, a --fake-initial, a re-run by hand)
    for module, function in SCHEDULE_MIGRATIONS.items():
        getattr(importlib.import_module(module), function)(apps, None)
    # then each schedule still exists exactly once
    names = list(Schedule.objects.values_list("name", flat=True))
    assert sorted(names) == sorted(SCHEDULES)


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

    settings.POLL_INTERVAL_MINUTES, settings.ANOMALY_INTERVAL_MINUTES = 7, 11
    call_command("sync_schedules")
    call_command("sync_schedules")
    names = ["invitations.poll_invitations", "rewards.detect_anomalies"]
    minutes = dict(Schedule.objects.filter(name__in=names).values_list("name", "minutes"))
    assert minutes == {"invitations.poll_invitations": 7, "rewards.detect_anomalies": 11}
    assert Schedule.objects.filter(name="rewards.detect_anomalies").count() == 1
    assert "rewards.detect_anomalies: every 11 minute(s)" in capsys.readouterr().out


@pytest.mark.django_db
def test_one_registry_declares_every_schedule_and_migrate_brings_back_a_lost_one():
    """The apps' schedules.py are the one list: what the migrations created is what the
    registry declares, each task exists, and a schedule deleted by hand (or never created) is
    back after the next migrate."""
    from django.core.management import call_command
    from django.utils.module_loading import import_string

    from core.schedules import registered

    assert {every.name for every in registered()} == SCHEDULES
    for every in registered():
        schedule = Schedule.objects.get(name=every.name)
        assert (schedule.func, schedule.schedule_type) == (every.func, every.schedule_type)
        assert callable(import_string(every.func))
    Schedule.objects.filter(name="rewards.reconcile").delete()
    call_command("migrate", verbosity=0)
    assert Schedule.objects.filter(name="rewards.reconcile").count() == 1

    # what staff set in the admin is theirs: migrate changes no existing schedule
    Schedule.objects.filter(name="rewards.detect_anomalies").update(minutes=42, repeats=0)
    call_command("migrate", verbosity=0)
    kept = Schedule.objects.get(name="rewards.detect_anomalies")
    assert (kept.minutes, kept.repeats) == (42, 0)
