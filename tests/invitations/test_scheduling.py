"""When an invitation is looked up again: the policy alone (no database, no clock), then the
signals that start a burst, through the pages."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from invitations.check_policy import Facts, NextCheck, Policy, Priority, after_signal, next_check
from invitations.models import CHECK_PRIORITIES, Invitation

POLICY = Policy()
INVITED = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
WINDOW_END = INVITED + timedelta(days=30)


def facts(attempts=1, signal_at=None, qualify_by=WINDOW_END) -> Facts:
    return Facts(INVITED, qualify_by, attempts, signal_at)


def schedule_from(now: datetime, **known) -> list[NextCheck]:
    """Every check a never-opening invitation gets from ``now`` to the end of its window."""
    checks, attempts = [], known.pop("attempts", 1)
    while True:
        check = next_check(facts(attempts, **known), now, POLICY)
        checks.append(check)
        if check.at > WINDOW_END:
            return checks
        now, attempts = check.at, attempts + 1


def test_a_signal_starts_a_burst_over_the_next_half_hour_first_in_line():
    clicked = INVITED + timedelta(days=3)
    first = after_signal(facts(attempts=9), clicked, POLICY)
    assert (first.at, first.priority) == (clicked + timedelta(minutes=1), Priority.SIGNAL)
    moments, now = [], first.at
    while now < clicked + timedelta(minutes=30):
        check = next_check(facts(attempts=10, signal_at=clicked), now, POLICY)
        if check.priority != Priority.SIGNAL:
            break
        moments.append(check.at)
        now = check.at
    assert [m - clicked for m in moments] == list(POLICY.burst[1:])
    after = next_check(facts(attempts=10, signal_at=clicked), now, POLICY)
    assert after.priority == Priority.ROUTINE  # back to the routine once the burst is over


def test_young_invitations_are_checked_often_then_less_and_less():
    young = schedule_from(INVITED + timedelta(minutes=1))
    day_one = [c for c in young if c.at < INVITED + timedelta(days=1)]
    assert all(c.priority == Priority.YOUNG for c in day_one[:-1])
    gaps = [b.at - a.at for a, b in itertools.pairwise(young)]
    assert gaps[0] == timedelta(minutes=4) and max(gaps[:10]) <= POLICY.young_longest_wait
    assert gaps == sorted(gaps[:-1]) + gaps[-1:]  # never more often as it ages (but the last)


def test_nothing_waits_longer_than_the_max_gap_and_the_last_check_follows_the_window():
    checks = schedule_from(INVITED + timedelta(days=2), attempts=40)
    gaps = [b.at - a.at for a, b in itertools.pairwise(checks)]
    assert max(gaps) <= POLICY.max_gap
    final = next(check for check in checks if check.at >= WINDOW_END)  # it expires or qualifies
    assert final.at <= WINDOW_END + POLICY.after_window
    # a burst never runs past the window's last check either
    late = after_signal(facts(), WINDOW_END - timedelta(seconds=10), POLICY)
    assert WINDOW_END <= late.at <= WINDOW_END + POLICY.after_window


def test_a_thousand_attempts_do_not_overflow():
    from core.backoff import doubling
    from invitations.services.polling import ERROR_BACKOFF

    young = next_check(facts(attempts=1000), INVITED + timedelta(hours=1), POLICY)
    assert young.at == INVITED + timedelta(hours=1) + POLICY.young_longest_wait
    assert doubling(1000, *ERROR_BACKOFF) == ERROR_BACKOFF[1]


def test_the_max_gap_is_a_setting(settings):
    settings.POLL_MAX_GAP_HOURS = 3
    policy = Policy.from_settings()
    old = next_check(facts(attempts=50), INVITED + timedelta(days=20), policy)
    assert old.at - (INVITED + timedelta(days=20)) == timedelta(hours=3)


def test_the_priorities_stored_are_the_policys():
    assert [value for value, _ in CHECK_PRIORITIES] == [p.value for p in Priority]


@pytest.mark.django_db
def test_due_checks_are_taken_signal_first_then_young_then_routine():
    from django.db import transaction
    from django.db.models.functions import Now

    from invitations.lock_objects import due_invitations_for_update
    from tests.factories import InvitationFactory

    past = timezone.now() - timedelta(hours=1)
    routine = InvitationFactory(next_check_at=past - timedelta(hours=5), check_priority=2)
    young = InvitationFactory(next_check_at=past, check_priority=1)
    signal = InvitationFactory(next_check_at=past + timedelta(minutes=30), check_priority=0)
    with transaction.atomic():
        order = list(due_invitations_for_update(Now(), 10).values_list("pk", flat=True))
    assert order == [signal.pk, young.pk, routine.pk]


@pytest.mark.django_db
def test_check_my_friends_now_is_limited_per_customer_and_says_when_again(client, settings):
    from invitations.exceptions import CHECK_TOO_SOON
    from tests.factories import CampaignFactory, CustomerFactory, InvitationFactory

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "check_friends_now": (1, 60 * 60)}
    customer, campaign = CustomerFactory(), CampaignFactory()
    later = timezone.now() + timedelta(hours=6)
    waiting = InvitationFactory(inviter=customer, campaign=campaign, next_check_at=later)
    InvitationFactory(inviter=customer, campaign=campaign, status=Invitation.Status.EXPIRED)
    client.force_login(customer.user)
    home = client.get(reverse("rewards:home")).content.decode()
    assert 'id="check-friends"' in home

    asked = client.post(reverse("rewards:check_friends"), follow=True)
    waiting.refresh_from_db()
    assert waiting.check_priority == 0 and waiting.signal_at is not None
    assert waiting.next_check_at <= waiting.signal_at + timedelta(minutes=1)
    assert "30" in asked.content.decode()  # "over the next half hour" / "30 分钟"

    again = client.post(reverse("rewards:check_friends"), follow=True)
    customer.refresh_from_db()
    when = timezone.localtime(customer.checks_requested_at + timedelta(minutes=60))
    assert CHECK_TOO_SOON.format(time=when.strftime("%H:%M")) in again.content.decode()
    assert client.get(reverse("rewards:check_friends")).status_code == 405


@pytest.mark.django_db
def test_the_poller_and_the_time_to_reward_simulation_follow_one_signal_rule(monkeypatch):
    """bench/scheduling.py's figures describe production only if it runs production's rule:
    changing the rule the poller's signals use changes the simulation the same way."""
    from statistics import median

    from bench.scheduling import project, scenario
    from invitations import check_policy
    from invitations.models import Invitation
    from invitations.services import invitee_opening_account
    from tests.factories import InvitationFactory

    people = scenario(300, seed=3)
    before = median(project(people).link_waits)
    invitation = InvitationFactory(next_check_at=timezone.now() + timedelta(hours=5))
    invitee_opening_account(invitation)
    signalled = Invitation.objects.get(pk=invitation.pk)
    assert signalled.next_check_at - signalled.signal_at == POLICY.burst[0]

    def late_bursts(facts, now, policy, scheduled=None):  # a rule that waits three hours
        return NextCheck(now + timedelta(hours=3), Priority.SIGNAL)

    monkeypatch.setattr(check_policy, "after_signal", late_bursts)
    other = InvitationFactory(next_check_at=timezone.now() + timedelta(hours=5))
    invitee_opening_account(other)
    signalled = Invitation.objects.get(pk=other.pk)

    assert signalled.next_check_at - signalled.signal_at == timedelta(hours=3)
    assert median(project(people).link_waits) > before
