"""When to ask the account-opening service about a pending invitation again: a pure function of
what we know about it (its age, its window, how often it was asked, the last signal that the
invitee is opening an account now) and of the policy's settings. No database, no clock: the
poller and the simulation in ``bench/scheduling.py`` run this same code.

The upstream answers about five lookups a second and is shared, so lookups go where they are
most likely to find an opening:

- a signal (the invitee followed our "open your account" link, or the inviter asked us to check
  their friends now) is followed by a burst of checks over the next half hour, first in line;
- a young invitation (most openings come within a day) is checked often, second in line;
- older ones less and less often, last in line, but never less than every ``max_gap``;
- and once more just after the window closes (an account opened in its last minutes is found
  before the invitation expires).

Once enough openings were seen, a ``yield_plan.Plan`` replaces the fixed waits of the last two
lines but one: each age is looked up as often as its chance of an opening earns, so that the
upstream's whole budget is spent where openings are likeliest. Signals and the final check stay.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

from django.conf import settings

from core.backoff import doubling

from .yield_plan import Plan


class Priority(IntEnum):
    """Order in which due checks are taken when the upstream's budget is short (lowest first)."""

    SIGNAL = 0
    YOUNG = 1
    ROUTINE = 2


@dataclass(frozen=True)
class Policy:
    burst: tuple[timedelta, ...] = tuple(timedelta(minutes=m) for m in (1, 2, 4, 7, 11, 16, 22, 30))
    young_for: timedelta = timedelta(days=1)
    first_wait: timedelta = timedelta(minutes=2)
    young_longest_wait: timedelta = timedelta(minutes=45)
    max_gap: timedelta = timedelta(hours=12)
    after_window: timedelta = timedelta(minutes=2)

    @classmethod
    def from_settings(cls) -> "Policy":
        return cls(max_gap=timedelta(hours=settings.POLL_MAX_GAP_HOURS))


@dataclass(frozen=True)
class Facts:
    invited_at: datetime
    qualify_by: datetime
    attempts: int  # answers "not opened yet" so far
    signal_at: datetime | None = None


@dataclass(frozen=True)
class NextCheck:
    at: datetime
    priority: Priority


def next_check(facts: Facts, now: datetime, policy: Policy, plan: Plan | None = None) -> NextCheck:
    """The next time to ask about an invitation that was "not opened yet" at ``now``: by its
    campaign's ``plan`` when there is one, else by the policy's fixed waits."""
    final = _last_check(facts, policy)
    burst = _in_burst(facts.signal_at, now, policy)
    if burst is not None:
        return NextCheck(min(burst, final), Priority.SIGNAL)
    age = now - facts.invited_at
    priority = Priority.YOUNG if age < policy.young_for else Priority.ROUTINE
    if plan is not None:
        wait = plan.wait(age)
    elif age < policy.young_for:
        wait = doubling(facts.attempts, policy.first_wait, policy.young_longest_wait)
    else:
        # Past the first day, the wait grows with the invitation's age (a quarter of it), so
        # that the checks an invitation gets stay about the same for every doubling of its age.
        wait = min(max(age / 4, policy.young_longest_wait), policy.max_gap)
    # When the window closes before then, the last check comes just after it.
    return NextCheck(min(now + wait, final), priority)


def typical_wait(age: timedelta, policy: Policy) -> timedelta:
    """About how long the fixed waits leave between two lookups of an invitation of ``age``
    (no signal): while young they double from ``first_wait``, so about the age itself (within
    ``first_wait`` and ``young_longest_wait``); then a quarter of the age (up to ``max_gap``).
    What the poll plans count as the load of invitations that have no plan yet."""
    if age < policy.young_for:
        return min(max(age, policy.first_wait), policy.young_longest_wait)
    return min(max(age / 4, policy.young_longest_wait), policy.max_gap)


def after_signal(
    facts: Facts, now: datetime, policy: Policy, scheduled: datetime | None = None
) -> NextCheck:
    """The first check of the burst a signal starts at ``now``: the burst's first, or the check
    already ``scheduled`` if that comes sooner, never after the window's last. The poller's
    signals (``services.bursts``) and the simulation both call this."""
    first = now + policy.burst[0]
    if scheduled is not None:
        first = min(first, scheduled)
    return NextCheck(min(first, _last_check(facts, policy)), Priority.SIGNAL)


def _last_check(facts: Facts, policy: Policy) -> datetime:
    """Just after the window closes: nothing is checked later."""
    return facts.qualify_by + policy.after_window


def _in_burst(signal_at: datetime | None, now: datetime, policy: Policy) -> datetime | None:
    """The burst's next check after ``now``, or None when there is no burst going on."""
    if signal_at is None or now < signal_at:
        return None
    for offset in policy.burst:
        if signal_at + offset > now:
            return signal_at + offset
    return None
