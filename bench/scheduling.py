"""7. When to look an invitee up: a discrete-event simulation on a virtual clock that runs the
project's real scheduling code (``invitations.check_policy``: ``next_check``, ``after_signal`` and
the claim order by priority) over a campaign, against the incident's policy and an oracle.

Scenario (seeded): N invitations spread over 30 days, each with a 30-day window; 5% are
existing customers (their account predates the invitation); 40% open an account, 70% of those
within a day (exponential, mean 3 hours) and the rest spread over 1 to 30 days (log-uniform); a
third of the openers followed the landing page's "open your account" link 2 to 20 minutes
before opening (a signal). The upstream answers 5 lookups a second; poll cycles start every 2
minutes and take due invitations, most urgent first, for 80 seconds (``POLL_MAX_SECONDS``; the
incident's job used the whole two minutes).

- project: the project's policy (a burst after a signal, often while young, then less and less
  often, at least every 12 hours, once more just after the window);
- incident: every 2 minutes, every pending invitation in id order, as far as the budget allows
  (what the incident's Quartz job did);
- oracle: each invitee looked up once, in the first cycle after they open (it knows when).
"""

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .common import percentile

RATE = 5  # lookups a second
CYCLE = timedelta(minutes=2)
CYCLE_SECONDS_USED = 80  # POLL_MAX_SECONDS: the real poll cycle stops there, until the next one
SPREAD = timedelta(days=30)
WINDOW = timedelta(days=30)
START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Invitee:
    id: int
    invited_at: datetime
    qualify_by: datetime
    opened_at: datetime | None  # None: never opens
    clicked_at: datetime | None  # followed the landing page's link (a signal)
    existing: bool = False


def scenario(count: int, seed: int = 7) -> list[Invitee]:
    rng = random.Random(seed)
    people = []
    for number in range(count):
        invited_at = START + SPREAD * rng.random()
        qualify_by = invited_at + WINDOW
        draw = rng.random()
        opened_at = clicked_at = None
        existing = False
        if draw < 0.05:
            existing = True
            opened_at = invited_at - timedelta(days=1 + 400 * rng.random())
        elif draw < 0.45:
            if rng.random() < 0.7:
                delay = timedelta(hours=min(rng.expovariate(1 / 3), 23.9))
            else:
                delay = timedelta(days=math.exp(rng.uniform(0, math.log(30))))
            opened_at = invited_at + delay
            if opened_at < qualify_by and rng.random() < 1 / 3:
                clicked_at = max(invited_at, opened_at - timedelta(minutes=rng.uniform(2, 20)))
        people.append(Invitee(number, invited_at, qualify_by, opened_at, clicked_at, existing))
    return people


def _answer(person: Invitee, now: datetime) -> str:
    """What the upstream says at ``now`` and what the invitation becomes."""
    if person.opened_at is not None and person.opened_at <= now:
        if person.opened_at < person.invited_at:
            return "ineligible"
        return "qualified" if person.opened_at <= person.qualify_by else "expired"
    return "expired" if now >= person.qualify_by else "pending"


@dataclass
class Outcome:
    lookups: int
    seconds: float  # simulated time from the first invitation to the last decision
    waits: list[float]  # seconds from opening to reward, per rewarded invitee
    link_waits: list[float]  # the same for those who followed the link and opened within a day


def _record(person: Invitee, now: datetime, outcome: Outcome) -> None:
    wait = (now - person.opened_at).total_seconds()
    outcome.waits.append(wait)
    if person.clicked_at is not None and person.opened_at - person.invited_at < timedelta(days=1):
        outcome.link_waits.append(wait)


def project(people: list[Invitee], cycle_budget: int = RATE * CYCLE_SECONDS_USED) -> Outcome:
    """The project's policy, with the real cycle's budget: ``POLL_MAX_SECONDS`` of lookups."""
    from invitations import check_policy
    from invitations.check_policy import Facts, Policy, Priority, next_check

    policy = Policy()
    outcome = Outcome(0, 0.0, [], [])
    arrivals = sorted(people, key=lambda p: p.invited_at)
    clicks = sorted((p for p in people if p.clicked_at), key=lambda p: p.clicked_at)
    due: list[list] = [[] for _ in Priority]  # one heap of (due, id, version) per priority
    version: dict[int, int] = {}
    attempts: dict[int, int] = {}
    signal: dict[int, datetime] = {}
    by_id = {p.id: p for p in people}
    now = arrivals[0].invited_at
    next_arrival = next_click = 0
    pending = 0

    scheduled_at: dict[int, datetime] = {}

    def schedule(person: Invitee, at: datetime, priority: Priority) -> None:
        scheduled_at[person.id] = at
        version[person.id] = version.get(person.id, 0) + 1
        heapq.heappush(due[priority], (at, person.id, version[person.id]))

    while next_arrival < len(arrivals) or pending:
        while next_arrival < len(arrivals) and arrivals[next_arrival].invited_at <= now:
            person = arrivals[next_arrival]
            schedule(person, person.invited_at, Priority.YOUNG)  # first look at once
            pending += 1
            next_arrival += 1
        while next_click < len(clicks) and clicks[next_click].clicked_at <= now:
            person = clicks[next_click]
            next_click += 1
            if person.id in version and version[person.id] > 0:
                signal[person.id] = person.clicked_at
                facts = Facts(person.invited_at, person.qualify_by, attempts.get(person.id, 0))
                check = check_policy.after_signal(
                    facts, person.clicked_at, policy, scheduled_at.get(person.id)
                )
                schedule(person, check.at, check.priority)
        budget = cycle_budget
        taken = 0
        for priority in Priority:
            heap = due[priority]
            while heap and taken < budget and heap[0][0] <= now:
                _, person_id, seen = heapq.heappop(heap)
                if version.get(person_id) != seen:
                    continue  # rescheduled since (a signal)
                person = by_id[person_id]
                at = now + timedelta(seconds=taken / RATE)
                taken += 1
                answer = _answer(person, at)
                if answer == "pending":
                    attempts[person_id] = attempts.get(person_id, 0) + 1
                    facts = Facts(
                        person.invited_at,
                        person.qualify_by,
                        attempts[person_id],
                        signal.get(person_id),
                    )
                    check = next_check(facts, at, policy)
                    schedule(person, check.at, check.priority)
                    continue
                version[person_id] = -1
                pending -= 1
                if answer == "qualified":
                    _record(person, at, outcome)
        outcome.lookups += taken
        now += CYCLE
    outcome.seconds = (now - arrivals[0].invited_at).total_seconds()
    return outcome


def incident(people: list[Invitee]) -> Outcome:
    """Every 2 minutes, pending invitations in id order, as far as the budget allows."""
    outcome = Outcome(0, 0.0, [], [])
    arrivals = deque(sorted(people, key=lambda p: p.invited_at))  # ids follow arrival
    waiting: deque[Invitee] = deque()  # pending, in id order, not at the head
    head: list[Invitee] = []  # the first pending ones, which each cycle reaches
    now = arrivals[0].invited_at
    budget = int(RATE * CYCLE.total_seconds())
    while arrivals or waiting or head:
        while arrivals and arrivals[0].invited_at <= now:
            waiting.append(arrivals.popleft())
        while len(head) < budget and waiting:
            head.append(waiting.popleft())
        still = []
        for index, person in enumerate(head):
            at = now + timedelta(seconds=index / RATE)
            answer = _answer(person, at)
            if answer == "pending":
                still.append(person)
            elif answer == "qualified":
                _record(person, at, outcome)
        outcome.lookups += len(head)
        head = still
        now += CYCLE
    outcome.seconds = (now - min(p.invited_at for p in people)).total_seconds()
    return outcome


def oracle(people: list[Invitee]) -> Outcome:
    """One lookup per invitee who opens, in the first cycle after the opening."""
    outcome = Outcome(0, 0.0, [], [])
    first = min(p.invited_at for p in people)
    for person in people:
        if person.opened_at is None:
            continue
        moment = max(person.opened_at, person.invited_at)
        cycles = math.ceil((moment - first) / CYCLE)
        at = first + CYCLE * cycles
        outcome.lookups += 1
        if _answer(person, at) == "qualified":
            _record(person, at, outcome)
    last = max(p.qualify_by for p in people)
    outcome.seconds = (last - first).total_seconds()
    return outcome


def lookups_needed(people: list[Invitee], within: timedelta, share: float = 0.95) -> dict:
    """The fewest lookups any policy that does not know when an invitee opens needs so that
    ``share`` of the rewarded are found within ``within`` of opening (a lower bound).

    Generous to the policy: every link follower is found at once and at no cost. The others
    must be found by looking: an opening at age ``a`` is found within ``within`` only if there
    is a lookup in ``[a, a + within]``, so looking up every invitation still pending at ages in
    a band every ``within`` finds all openings there, every ``k * within`` a ``1/k`` share, at
    proportional cost. Bands are 10 minutes of age; taking them in order of openings per
    pending invitation (the cheapest finds first) is then the best any policy can do.
    """
    band = timedelta(minutes=10)
    bands = int(WINDOW / band) + 1
    opened = [0] * bands  # unsignalled openings that will be rewarded, by band of age
    leaving = [0] * bands  # invitations that stop being pending, by band of age
    rewarded = signalled = 0
    for person in people:
        if person.existing:
            continue  # found ineligible at the first look
        if person.opened_at is None or person.opened_at > person.qualify_by:
            leaving[bands - 1] += 1
            continue
        rewarded += 1
        age = int((person.opened_at - person.invited_at) / band)
        leaving[age] += 1
        if person.clicked_at is not None:
            signalled += 1
        else:
            opened[age] += 1
    to_find = max(0, math.ceil(share * rewarded) - signalled)
    pending = [0] * bands
    left = len(people) - sum(1 for person in people if person.existing)
    for index in range(bands):
        pending[index] = left
        left -= leaving[index]
    per_band = band / within  # lookups per pending invitation to cover one band fully
    lookups = 0.0
    found = 0.0
    for index in sorted(range(bands), key=lambda i: -opened[i] / max(pending[i], 1)):
        if found >= to_find:
            break
        take = min(1.0, (to_find - found) / opened[index]) if opened[index] else 0.0
        found += take * opened[index]
        lookups += take * pending[index] * per_band
    return {
        "within_min": within.total_seconds() / 60,
        "lookups": lookups,
        "lookups_per_invitation": lookups / len(people),
        "budget_share": lookups / (RATE * (SPREAD + WINDOW).total_seconds()),
    }


def summary(outcome: Outcome, count: int) -> dict:
    def minutes(values, share):
        return percentile(values, share) / 60 if values else float("nan")

    return {
        "lookups": outcome.lookups,
        "lookups_per_invitation": outcome.lookups / count,
        "budget_share": outcome.lookups / (RATE * outcome.seconds),
        "rewarded": len(outcome.waits),
        "p50_min": minutes(outcome.waits, 0.5),
        "p95_min": minutes(outcome.waits, 0.95),
        "p99_min": minutes(outcome.waits, 0.99),
        "link_p95_min": minutes(outcome.link_waits, 0.95),
        "link_count": len(outcome.link_waits),
        "waits": sorted(outcome.waits),
    }


def run(quick: bool) -> dict:
    count = 10_000 if quick else 100_000
    people = scenario(count)
    results = {"invitations": count}
    for name, policy in (("project", project), ("incident", incident), ("oracle", oracle)):
        results[name] = summary(policy(people), count)
        value = results[name]
        print(
            f"  {name:>8}: p50 {value['p50_min']:.1f} min, p95 {value['p95_min']:.1f} min,"
            f" p99 {value['p99_min']:.1f} min, link p95 {value['link_p95_min']:.1f} min,"
            f" {value['lookups_per_invitation']:.1f} lookups/invitation,"
            f" {value['budget_share']:.0%} of the budget",
            flush=True,
        )
    within = timedelta(minutes=2 * results["oracle"]["p95_min"])
    bound = results["bound"] = lookups_needed(people, within)
    print(
        f"  to find 95% within {bound['within_min']:.1f} min (2x the oracle's p95), any policy"
        f" needs >= {bound['lookups_per_invitation']:,.0f} lookups/invitation,"
        f" {bound['budget_share']:.0%} of the budget",
        flush=True,
    )
    return results
