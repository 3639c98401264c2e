"""7. When to look an invitee up: a discrete-event simulation on a virtual clock that runs the
project's real scheduling code (``invitations.check_policy``: ``next_check``, ``after_signal`` and
the claim order by priority; ``invitations.yield_plan``: the plans) over a campaign, against the
incident's policy, an oracle and a lower bound.

Scenario (seeded): N invitations spread over 30 days, each with a 30-day window; 5% are
existing customers (their account predates the invitation); 40% open an account, 70% of those
within a day (exponential, mean 3 hours) and the rest spread over 1 to 30 days (log-uniform); a
third of the openers followed the landing page's "open your account" link 2 to 20 minutes
before opening (a signal). The upstream answers 5 lookups a second, of which the project asks
at most 90% (``ACCOUNT_OPENING_BUDGET_SHARE``); poll cycles start every minute and take due
invitations, most urgent first, for 55 seconds (``POLL_INTERVAL_MINUTES``, ``POLL_MAX_SECONDS``).

- fixed: the project's fixed waits (a burst after a signal, often while young, then less and
  less often, at least every 12 hours, once more just after the window);
- project: the same, with the waits of a plan made every 10 minutes from the openings found so
  far (``yield_plan``: the square-root rule, spending the budget);
- events: the project, also told of openings by signed events (2% lost, the others after an
  exponential delay of 2 s on average), each looked up when it arrives;
- incident: every 2 minutes, every pending invitation in id order, as far as the whole rate
  allows (what the incident's Quartz job did);
- oracle: each invitee looked up once, in the first cycle after they open (it knows when).
"""

import bisect
import heapq
import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from .common import percentile

RATE = 5  # lookups a second
SHARE = 0.9  # ACCOUNT_OPENING_BUDGET_SHARE: the project asks at most this share of the rate
CYCLE = timedelta(minutes=1)  # POLL_INTERVAL_MINUTES
CYCLE_SECONDS_USED = 55  # POLL_MAX_SECONDS: the real poll cycle stops there, until the next one
INCIDENT_CYCLE = timedelta(minutes=2)  # the incident's Quartz job
PLAN_EVERY = timedelta(minutes=10)  # the planning schedule (invitations.plan_polling)
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


EXISTING = 0.05  # existing customers: their account predates the invitation
OPENS = 0.40  # open an account within the window
WITHIN_A_DAY = 0.7  # of those, open within a day (exponential, mean YOUNG_MEAN_HOURS)
YOUNG_MEAN_HOURS = 3
OLD_DAYS = 30  # the others open 1 to OLD_DAYS days in (log-uniform)
LINK = 1 / 3  # of the openers, followed the landing page's link first (a signal)


def scenario(count: int, seed: int = 7) -> list[Invitee]:
    rng = random.Random(seed)
    people = []
    for number in range(count):
        invited_at = START + SPREAD * rng.random()
        qualify_by = invited_at + WINDOW
        draw = rng.random()
        opened_at = clicked_at = None
        existing = False
        if draw < EXISTING:
            existing = True
            opened_at = invited_at - timedelta(days=1 + 400 * rng.random())
        elif draw < EXISTING + OPENS:
            if rng.random() < WITHIN_A_DAY:
                delay = timedelta(hours=min(rng.expovariate(1 / YOUNG_MEAN_HOURS), 23.9))
            else:
                delay = timedelta(days=math.exp(rng.uniform(0, math.log(OLD_DAYS))))
            opened_at = invited_at + delay
            if opened_at < qualify_by and rng.random() < LINK:
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
    lost: set[int] = field(default_factory=set)  # whose opening's event was lost
    lost_waits: list[float] = field(default_factory=list)  # the same for those
    most_in_a_cycle: int = 0  # the most lookups asked in one poll cycle


def _record(person: Invitee, now: datetime, outcome: Outcome) -> None:
    wait = (now - person.opened_at).total_seconds()
    outcome.waits.append(wait)
    if person.id in outcome.lost:
        outcome.lost_waits.append(wait)
    if person.clicked_at is not None and person.opened_at - person.invited_at < timedelta(days=1):
        outcome.link_waits.append(wait)


@dataclass(frozen=True)
class Events:
    """Signed "account opened" events: each opening is sent ``delay`` seconds later (exponential,
    so out of order), a ``lost`` share never arrives. An event's lookup is made at once (the web
    server queues a poll cycle)."""

    lost: float = 0.02
    mean_delay: float = 2.0


class _Pending:
    """Pending invitations in order of arrival (a Fenwick tree): how many of those that arrived
    up to a position are still pending, in ``log n``."""

    def __init__(self, size: int):
        self.tree = [0] * (size + 1)

    def add(self, position: int, change: int) -> None:
        position += 1
        while position < len(self.tree):
            self.tree[position] += change
            position += position & -position

    def up_to(self, position: int) -> int:  # pending among positions < position
        total = 0
        while position > 0:
            total += self.tree[position]
            position -= position & -position
        return total


def project(
    people: list[Invitee],
    *,
    planned: bool = False,
    events: Events | None = None,
    rate: float = RATE,
    seed: int = 11,
    plan_maker=None,
) -> Outcome:
    """The project's policy at the real cycle's budget (``POLL_MAX_SECONDS`` of lookups each
    ``POLL_INTERVAL_MINUTES``, at ``ACCOUNT_OPENING_BUDGET_SHARE`` of the upstream's rate).
    ``planned``: every ``PLAN_EVERY`` the plan is made again from what the poller has learned
    so far (``invitations.yield_plan``, the code ``services.planning`` runs); else the fixed
    waits. ``events``: openings are also told, as signed events. ``plan_maker``: another way to
    make the plans from the same figures (``tail_plans``)."""
    from invitations import check_policy, yield_plan
    from invitations.check_policy import Facts, Policy, Priority, next_check

    policy = Policy()
    cycle_budget = int(rate * SHARE * CYCLE_SECONDS_USED)
    outcome = Outcome(0, 0.0, [], [])
    arrivals = sorted(people, key=lambda p: p.invited_at)
    position = {person.id: index for index, person in enumerate(arrivals)}
    clicks = sorted((p for p in people if p.clicked_at), key=lambda p: p.clicked_at)
    told = _told(people, events, seed, outcome.lost) if events else []
    due: list[list] = [[] for _ in Priority]  # one heap of (due, id, version) per priority
    version: dict[int, int] = {}
    attempts: dict[int, int] = {}
    signal: dict[int, datetime] = {}
    by_id = {p.id: p for p in people}
    now = arrivals[0].invited_at
    next_arrival = next_click = next_told = 0
    pending = 0
    still = _Pending(len(arrivals))
    ended = [0] * yield_plan.BANDS  # decided invitations, by band of age at the end
    opened = [0] * yield_plan.BANDS
    plan = None
    planned_at = None
    scheduled_at: dict[int, datetime] = {}

    def schedule(person: Invitee, at: datetime, priority: Priority) -> None:
        scheduled_at[person.id] = at
        version[person.id] = version.get(person.id, 0) + 1
        heapq.heappush(due[priority], (at, person.id, version[person.id]))

    def decide(person: Invitee, at: datetime, answer: str) -> None:
        nonlocal pending
        version[person.id] = -1
        pending -= 1
        still.add(position[person.id], -1)
        if answer == "qualified":
            _record(person, at, outcome)
            opened[yield_plan.band(person.opened_at - person.invited_at)] += 1
            ended[yield_plan.band(person.opened_at - person.invited_at)] += 1
        else:
            ended[yield_plan.band(at - person.invited_at)] += 1

    def make_plan():
        by_band = [0] * yield_plan.BANDS
        above = 0
        for index in range(yield_plan.BANDS - 1, -1, -1):
            # pending invitations at least AGE_EDGES[index] old: arrived before now - edge
            cut = bisect.bisect_right(
                arrival_times, now - yield_plan.AGE_EDGES[index], 0, next_arrival
            )
            older = still.up_to(cut)
            by_band[index] = older - above
            above = older
        history = yield_plan.History(
            tuple(e + p for e, p in zip(ended, by_band, strict=True)), tuple(opened)
        )
        budget = yield_plan.routine_budget(rate * SHARE, CYCLE_SECONDS_USED, CYCLE)
        plans = (plan_maker or yield_plan.make_plans)(
            {0: history}, {0: by_band}, budget, policy.first_wait, policy.max_gap
        )
        return plans.get(0)

    arrival_times = [person.invited_at for person in arrivals]
    while next_arrival < len(arrivals) or pending:
        while next_arrival < len(arrivals) and arrivals[next_arrival].invited_at <= now:
            person = arrivals[next_arrival]
            schedule(person, person.invited_at, Priority.YOUNG)  # first look at once
            still.add(next_arrival, 1)
            pending += 1
            next_arrival += 1
        if planned and (planned_at is None or now - planned_at >= PLAN_EVERY):
            plan, planned_at = make_plan(), now
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
        while next_told < len(told) and told[next_told][0] <= now:
            at, person = told[next_told]
            next_told += 1
            if version.get(person.id, 0) > 0:  # pending: looked up when the event comes
                budget -= 1
                outcome.lookups += 1
                decide(person, at, _answer(person, at))
        taken = 0
        for priority in Priority:
            heap = due[priority]
            while heap and taken < budget and heap[0][0] <= now:
                _, person_id, seen = heapq.heappop(heap)
                if version.get(person_id) != seen:
                    continue  # rescheduled since (a signal)
                person = by_id[person_id]
                at = now + timedelta(seconds=taken / (rate * SHARE))
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
                    check = next_check(facts, at, policy, plan)
                    schedule(person, check.at, check.priority)
                    continue
                decide(person, at, answer)
        outcome.lookups += taken
        outcome.most_in_a_cycle = max(outcome.most_in_a_cycle, taken + cycle_budget - budget)
        now += CYCLE
    outcome.seconds = (now - arrivals[0].invited_at).total_seconds()
    return outcome


TAIL_TARGET = timedelta(minutes=90)


def tail_plans(histories, pending, lookups_per_second, shortest, longest, target=TAIL_TARGET):
    """An experiment, not the product's: plans shaped for the 95th percentile as the rate-aware
    bound is (``rate_aware_bound``). While the square-root plans would leave some age longer
    than ``target`` between lookups, the ages likeliest to open are looked up every ``target``
    and the rest every ``longest``, as far as the budget goes (the marginal age in between);
    otherwise the square-root plans. ``target`` must be guessed: the bound's own, known only
    once the campaign is over."""
    from invitations import yield_plan

    plans = yield_plan.make_plans(histories, pending, lookups_per_second, shortest, longest)
    if not any(wait > target for plan in plans.values() for wait in plan.waits):
        return plans
    low, high = target.total_seconds(), longest.total_seconds()
    count = {(c, i): n for c, ns in pending.items() for i, n in enumerate(ns)}
    chosen = {campaign: [high] * yield_plan.BANDS for campaign in plans}
    left = lookups_per_second - sum(count.values()) / high
    cells = sorted(
        ((h, c, i) for c, plan in plans.items() for i, h in enumerate(plan.hazards)), reverse=True
    )
    for _, campaign, index in cells:
        n = count.get((campaign, index), 0)
        extra = n * (1 / low - 1 / high)
        if extra <= left:
            chosen[campaign][index] = low
            left -= extra
        elif left > 0:
            chosen[campaign][index] = n / (left + n / high)
            left = 0.0
    return {
        campaign: yield_plan.Plan(
            tuple(timedelta(seconds=wait) for wait in chosen[campaign]), plan.hazards
        )
        for campaign, plan in plans.items()
    }


def _told(
    people: list[Invitee], events: Events, seed: int, lost: set[int]
) -> list[tuple[datetime, Invitee]]:
    """When each opening's event arrives, in order of arrival; the lost ones go in ``lost``."""
    rng = random.Random(seed)
    told = []
    for person in people:
        if person.opened_at is None or person.existing:
            continue
        if rng.random() < events.lost:
            lost.add(person.id)
            continue
        delay = timedelta(seconds=rng.expovariate(1 / events.mean_delay))
        told.append((person.opened_at + delay, person))
    told.sort(key=lambda item: (item[0], item[1].id))
    return told


def incident(people: list[Invitee], rate: float = RATE) -> Outcome:
    """Every 2 minutes, pending invitations in id order, as far as the budget allows."""
    outcome = Outcome(0, 0.0, [], [])
    arrivals = deque(sorted(people, key=lambda p: p.invited_at))  # ids follow arrival
    waiting: deque[Invitee] = deque()  # pending, in id order, not at the head
    head: list[Invitee] = []  # the first pending ones, which each cycle reaches
    now = arrivals[0].invited_at
    budget = int(rate * INCIDENT_CYCLE.total_seconds())
    while arrivals or waiting or head:
        while arrivals and arrivals[0].invited_at <= now:
            waiting.append(arrivals.popleft())
        while len(head) < budget and waiting:
            head.append(waiting.popleft())
        still = []
        for index, person in enumerate(head):
            at = now + timedelta(seconds=index / rate)
            answer = _answer(person, at)
            if answer == "pending":
                still.append(person)
            elif answer == "qualified":
                _record(person, at, outcome)
        outcome.lookups += len(head)
        head = still
        now += INCIDENT_CYCLE
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


def _opened_by(age: timedelta) -> float:
    """The share of all invitations whose invitee has opened by ``age`` (the scenario's law)."""
    hours = age.total_seconds() / 3600
    young = 1 - math.exp(-hours / YOUNG_MEAN_HOURS) if hours < 23.9 else 1.0
    days = hours / 24
    old = min(max(math.log(days) / math.log(OLD_DAYS), 0.0), 1.0) if days > 0 else 0.0
    return OPENS * (WITHIN_A_DAY * young + (1 - WITHIN_A_DAY) * old)


def lookups_needed(
    within: timedelta, share: float = 0.95, longest: timedelta = timedelta(hours=12)
) -> float:
    """The fewest lookups per invitation with which a policy that knows the scenario's law of
    opening ages, but not when each invitee opens, finds ``share`` of the rewarded within
    ``within`` of their opening (a lower bound, from the law itself: a bound computed from one
    draw's openings would know which minutes held one).

    Generous to the policy: every link follower is found at once and at no cost, and a lookup
    found an existing customer at no cost either. The others must be found by looking: an
    opening at age ``a`` is found within ``within`` only if there is a lookup in
    ``[a, a + within]``, so looking up every invitation still pending at ages in a band every
    ``within`` finds all openings there, every ``k * within`` a ``1/k`` share, at proportional
    cost. Bands are 10 minutes of age; taking them in order of openings per pending invitation
    (the cheapest finds first) is then the best any such policy can do. Held to the same
    starvation bound as the project (every pending invitation looked up at least every
    ``longest``), it pays that much in the bands it does not cover.
    """
    band = timedelta(minutes=10)
    bands = int(WINDOW / band)
    unsignalled = 1 - LINK
    opened = []  # expected unsignalled openings per invitation, by band
    pending = []  # expected invitations still pending at the band's start, per invitation
    for index in range(bands):
        start, end = _opened_by(band * index), _opened_by(band * (index + 1))
        opened.append(unsignalled * (end - start))
        pending.append(1 - EXISTING - start)
    to_find = share * OPENS - LINK * OPENS
    per_band = band / within  # lookups per pending invitation to cover one band fully
    floor = band / longest  # the same at the starvation bound
    lookups = sum(pending) * floor
    found = 0.0
    for index in sorted(range(bands), key=lambda i: -opened[i] / pending[i]):
        if found >= to_find:
            break
        take = min(1.0, (to_find - found) / opened[index]) if opened[index] else 0.0
        found += take * opened[index]
        lookups += take * pending[index] * max(per_band - floor, 0.0)
    return lookups


def bound_curve() -> list[tuple[float, float]]:
    """``lookups_needed`` as a curve: (minutes, lookups per invitation) for p95 targets."""
    return [
        (minutes, lookups_needed(timedelta(minutes=minutes)))
        for minutes in (1, 2, 3, 5, 7, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720)
    ]


def bound_at(lookups_per_invitation: float, curve: list[tuple[float, float]]) -> float:
    """The lowest p95 (minutes) any policy can reach with that many lookups per invitation,
    read off the curve (log-log interpolation)."""
    for (short, many), (long, few) in pairwise(curve):
        if few <= lookups_per_invitation <= many:
            part = math.log(many / lookups_per_invitation) / math.log(many / few)
            return math.exp(math.log(short) + part * math.log(long / short))
    return curve[0][0] if lookups_per_invitation > curve[0][1] else curve[-1][0]


def rate_aware_bound(
    count: int,
    rate: float,
    share: float = 0.95,
    longest: timedelta = timedelta(hours=12),
) -> float:
    """The lowest p95 (minutes) any policy can reach when, as the poller, it may spend at most
    ``rate x SHARE`` lookups in each second (``lookups_needed`` may move lookups freely in
    time: from the campaign's quiet first and last days, where they are not needed, to its
    crowded middle, where they are).

    The same generous terms: the law of opening ages known, link followers found at once and
    for free, the starvation bound paid. Time goes in 10-minute steps over the campaign (its
    invitations sent evenly over ``SPREAD``, each pending up to ``WINDOW``); in each step, the
    invitations pending at each age, their openings (the law's), and that step's lookups: the
    starvation bound's first, then, as in ``lookups_needed``, the ages with the most openings per
    pending invitation looked up every ``within`` (fractionally at the margin), as far as the
    step's lookups go. A look every ``interval`` finds ``min(1, within / interval)`` of an age's
    openings within ``within``; the smallest ``within`` whose finds reach 95% of the rewarded is
    the bound."""
    import numpy as np

    band = timedelta(minutes=10)
    ages = int(WINDOW / band)
    steps_sent = int(SPREAD / band)  # invitations arrive evenly over these steps
    steps = steps_sent + ages
    starts = [_opened_by(band * index) for index in range(ages + 1)]
    pending = np.array([1 - EXISTING - starts[index] for index in range(ages)])
    opened = np.array([(1 - LINK) * (starts[i + 1] - starts[i]) for i in range(ages)])
    hazard = np.divide(opened, pending, out=np.zeros(ages), where=pending > 0)
    order = np.argsort(-hazard, kind="stable")
    per_step = count / steps_sent  # invitations sent in one step
    budget = rate * SHARE * band.total_seconds()  # lookups in one step
    needed = count * OPENS * (share - LINK)  # openings to find by looking

    def found(within: timedelta) -> float:
        w, top = within / band, longest / band  # in steps
        total = 0.0
        for step in range(steps):
            low, high = max(0, step - steps_sent + 1), min(step, ages - 1)
            if low > high:
                continue
            mine = order[(order >= low) & (order <= high)]  # ages present, likeliest first
            n = per_step * pending[mine]
            finds = per_step * opened[mine]
            floor = n.sum() / top
            if budget <= floor:
                total += finds.sum() * min(1.0, w / top) * budget / floor
                continue
            total += finds.sum() * min(1.0, w / top)
            if w >= top:
                continue
            extra = np.cumsum(n * (1 / w - 1 / top))  # to look every ``within`` instead
            gain = finds * (1 - w / top)
            left = budget - floor
            full = int(np.searchsorted(extra, left, side="right"))
            total += gain[:full].sum()
            if full < len(gain):
                before = extra[full - 1] if full else 0.0
                total += gain[full] * (left - before) / (extra[full] - before)
        return total

    low, high = 0.05, float(longest / timedelta(minutes=1))
    if found(timedelta(minutes=high)) < needed:
        return high
    for _ in range(30):  # bisection on the minutes
        middle = math.sqrt(low * high)
        if found(timedelta(minutes=middle)) >= needed:
            high = middle
        else:
            low = middle
        if high / low < 1.005:
            break
    return high


def summary(outcome: Outcome, count: int, rate: float = RATE) -> dict:
    def minutes(values, share):
        return percentile(values, share) / 60 if values else float("nan")

    return {
        "lookups": outcome.lookups,
        "lookups_per_invitation": outcome.lookups / count,
        "budget_share": outcome.lookups / (rate * outcome.seconds),
        "most_in_a_cycle": outcome.most_in_a_cycle,
        "rewarded": len(outcome.waits),
        "p50_min": minutes(outcome.waits, 0.5),
        "p95_min": minutes(outcome.waits, 0.95),
        "p99_min": minutes(outcome.waits, 0.99),
        "link_p95_min": minutes(outcome.link_waits, 0.95),
        "link_count": len(outcome.link_waits),
        "lost_count": len(outcome.lost),
        "lost_found": len(outcome.lost_waits),
        "lost_max_min": max(outcome.lost_waits) / 60 if outcome.lost_waits else None,
        "waits": sorted(outcome.waits),
    }


def run(quick: bool) -> dict:
    """Every policy on one scenario; the quick run has a tenth of the invitations and of the
    upstream's rate (the same load per lookup)."""
    count = 10_000 if quick else 100_000
    rate = RATE * count / 100_000
    people = scenario(count)
    events = Events()
    results = {
        "invitations": count,
        "rate": rate,
        "share": SHARE,
        "cycle_budget": int(rate * SHARE * CYCLE_SECONDS_USED),
        "event_spec": {"lost": events.lost, "mean_delay_s": events.mean_delay},
        # an exponential delay's 95th percentile
        "event_p95_delay_min": -math.log(0.05) * events.mean_delay / 60,
    }
    for name, policy in (
        ("fixed", lambda: project(people, rate=rate)),
        ("project", lambda: project(people, rate=rate, planned=True)),
        ("tail", lambda: project(people, rate=rate, planned=True, plan_maker=tail_plans)),
        ("events", lambda: project(people, rate=rate, planned=True, events=events)),
        ("incident", lambda: incident(people, rate=rate)),
        ("oracle", lambda: oracle(people)),
    ):
        results[name] = summary(policy(), count, rate)
        value = results[name]
        print(
            f"  {name:>8}: p50 {value['p50_min']:.1f} min, p95 {value['p95_min']:.1f} min,"
            f" p99 {value['p99_min']:.1f} min, link p95 {value['link_p95_min']:.1f} min,"
            f" {value['lookups_per_invitation']:.1f} lookups/invitation,"
            f" {value['budget_share']:.0%} of the budget, at most {value['most_in_a_cycle']}"
            " in a cycle",
            flush=True,
        )
    # the rate-aware bound: at the poller's whole rate, and at what the plans may ask of it
    results["rate_bound_p95_min"] = rate_aware_bound(count, rate)
    from invitations import yield_plan

    plans_rate = yield_plan.routine_budget(rate, CYCLE_SECONDS_USED, CYCLE)  # x SHARE in the bound
    results["rate_bound_plans_p95_min"] = rate_aware_bound(count, plans_rate)
    results["tail_target_min"] = TAIL_TARGET / timedelta(minutes=1)
    for name in ("fixed", "project", "tail"):
        value = results[name]
        print(
            f"  {name}: {value['p95_min'] / results['rate_bound_p95_min']:.2f}x the rate-aware"
            f" bound ({results['rate_bound_p95_min']:.1f} min at the whole rate,"
            f" {results['rate_bound_plans_p95_min']:.1f} at the plans' share)",
            flush=True,
        )
    curve = results["bound_curve"] = bound_curve()
    for name in ("fixed", "project"):
        value = results[name]
        value["bound_p95_min"] = bound_at(value["lookups_per_invitation"], curve)
        print(
            f"  {name}: with {value['lookups_per_invitation']:.0f} lookups/invitation no policy"
            f" finds 95% sooner than {value['bound_p95_min']:.1f} min; this one"
            f" {value['p95_min'] / value['bound_p95_min']:.2f}x that",
            flush=True,
        )
    return results
