"""How often to look up a pending invitation of each age, so that the upstream's budget finds
openings soonest: pure arithmetic, no database and no clock (``services.planning`` feeds it
counts from the database, ``bench/scheduling.py`` from its simulation).

1. Each campaign's own openings, by the invitation's age, give the chance per second that a
   pending invitation of that age opens now (the hazard): openings at that age over the time
   invitations spent pending at that age. A campaign with little history leans on all
   campaigns together (``PRIOR_WEIGHT`` invitations' worth).
2. The budget is shared by the square-root rule: an invitation whose hazard is ``h`` is looked up
   every ``scale / sqrt(h)`` (within ``shortest`` and ``longest``). Looking up every ``t`` finds
   an opening ``t / 2`` after it on average; minimizing the sum of those waits over all
   openings, at a fixed number of lookups a second, gives ``t`` proportional to ``1 / sqrt(h)``
   (Cho and Garcia-Molina, "Effective page refresh policies", 2003; Azar et al., "Tractable
   near-optimal policies for crawling", 2018). The scale is the one that spends the budget.
"""

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

# Bands of an invitation's age; the last one runs on (its width counts as its start).
AGE_EDGES_MINUTES = (0, 10, 30, 60, 120, 240, 480, 960, 1440, 2880, 5760, 11520, 23040, 46080)
AGE_EDGES = tuple(timedelta(minutes=m) for m in AGE_EDGES_MINUTES)
BANDS = len(AGE_EDGES)
WIDTHS = (
    *((later - earlier).total_seconds() for earlier, later in pairwise(AGE_EDGES)),
    AGE_EDGES[-1].total_seconds(),
)

SIGNAL_SHARE = 0.1  # of the poller's lookups, left for signals (events, link clicks, "check now")
PRIOR_WEIGHT = 200  # a campaign's own history counts as much as this many invitations of all
MIN_OPENINGS = 30  # fewer openings seen in all campaigns together: no plan, the fixed policy


def typical_age(index: int) -> timedelta:
    """An age in the middle of band ``index`` (the last: half as old again as its start)."""
    if index + 1 < BANDS:
        return (AGE_EDGES[index] + AGE_EDGES[index + 1]) / 2
    return AGE_EDGES[index] * 1.5


def band(age: timedelta) -> int:
    """The band of an age (a negative age, a clock's hiccup, is the first)."""
    minutes = age.total_seconds() / 60
    index = 0
    while index + 1 < BANDS and minutes >= AGE_EDGES_MINUTES[index + 1]:
        index += 1
    return index


@dataclass(frozen=True)
class History:
    """What a campaign's invitations did, by band of age: ``ended`` counts invitations whose
    time as pending ended in the band (opened, decided otherwise, or still pending at that age
    now), ``opened`` those that ended in it by an opening. The same arithmetic learns the wait
    for a first deposit: the age is then counted from the opening, and ``opened`` counts the
    deposits."""

    ended: tuple[int, ...] = (0,) * BANDS
    opened: tuple[int, ...] = (0,) * BANDS

    def __add__(self, other: "History") -> "History":
        return History(
            tuple(a + b for a, b in zip(self.ended, other.ended, strict=True)),
            tuple(a + b for a, b in zip(self.opened, other.opened, strict=True)),
        )

    @property
    def openings(self) -> int:
        return sum(self.opened)


def hazards(history: History, prior: Sequence[float] | None = None) -> tuple[float, ...]:
    """Openings per pending invitation per second, by band. Time pending in a band: every
    invitation that got past it spent its whole width there, one that ended in it half."""
    result = []
    later = sum(history.ended)
    for index in range(BANDS):
        later -= history.ended[index]
        exposure = WIDTHS[index] * (later + 0.5 * history.ended[index])
        opened = history.opened[index]
        if prior is not None:
            opened += PRIOR_WEIGHT * WIDTHS[index] * prior[index]
            exposure += PRIOR_WEIGHT * WIDTHS[index]
        result.append(opened / exposure if exposure else 0.0)
    return tuple(result)


def routine_budget(rate: float, cycle_seconds: float, cycle: timedelta) -> float:
    """Lookups a second the plans may ask for: the poller asks at most ``rate`` a second (our
    share of the upstream's limit) for ``cycle_seconds`` of each ``cycle``, and keeps
    ``SIGNAL_SHARE`` of that for signals."""
    return rate * min(cycle_seconds / cycle.total_seconds(), 1.0) * (1 - SIGNAL_SHARE)


@dataclass(frozen=True)
class Plan:
    """How long to wait before the next lookup of an invitation, by band of its age."""

    waits: tuple[timedelta, ...]
    hazards: tuple[float, ...] = ()  # what it was made from (openings a second, by band)

    def wait(self, age: timedelta) -> timedelta:
        return self.waits[band(age)]


def make_plans(
    histories: Mapping[Hashable, History],
    pending: Mapping[Hashable, Sequence[int]],
    lookups_per_second: float,
    shortest: timedelta,
    longest: timedelta,
    group: Callable[[Hashable], Hashable] = lambda key: None,
    fixed_wait: Callable[[int], float] | None = None,
) -> dict[Hashable, Plan]:
    """A plan for each key of ``histories`` (a campaign, or a campaign's stage), from the history
    of every key of its ``group`` (what one wait is waiting for: an opening, a first deposit)
    and the pending invitations by band (``pending``, by key), so that the plans together ask
    about ``lookups_per_second``. None for a group while fewer than ``MIN_OPENINGS`` of its
    events were seen: its invitations follow the fixed waits, about ``fixed_wait(band)``
    seconds apart, and what they ask comes off the plans' budget (none at all when that leaves
    nothing: every invitation on the fixed waits)."""
    overall: dict[Hashable, History] = {}
    for key, history in histories.items():
        overall[group(key)] = overall.get(group(key), History()) + history
    priors = {
        name: hazards(history)
        for name, history in overall.items()
        if history.openings >= MIN_OPENINGS
    }
    rates = {
        key: hazards(history, priors[group(key)])
        for key, history in histories.items()
        if group(key) in priors
    }
    if not rates:
        return {}
    if fixed_wait is not None:
        lookups_per_second -= sum(
            count / fixed_wait(index)
            for key in histories
            if key not in rates
            for index, count in enumerate(pending.get(key, ()))
        )
        if lookups_per_second <= 0:
            return {}  # the fixed waits alone ask for the whole budget: they keep it all
    low, high = shortest.total_seconds(), longest.total_seconds()

    def waits(scale: float, key: Hashable) -> list[float]:
        return [min(max(scale / math.sqrt(h), low), high) if h > 0 else high for h in rates[key]]

    def asked(scale: float) -> float:  # lookups a second the plans would ask for
        return sum(
            count / wait
            for key in rates
            for count, wait in zip(pending.get(key, ()), waits(scale, key), strict=False)
        )

    # The scale that spends the budget: asked() falls as the scale grows; bisect its logarithm.
    small, large = 1e-6, 1e9
    if asked(small) <= lookups_per_second:
        scale = small  # everything every ``shortest`` fits in the budget
    else:
        for _ in range(60):
            middle = math.sqrt(small * large)
            if asked(middle) > lookups_per_second:
                small = middle
            else:
                large = middle
        scale = large
    return {
        key: Plan(tuple(timedelta(seconds=w) for w in waits(scale, key)), rates[key])
        for key in rates
    }
