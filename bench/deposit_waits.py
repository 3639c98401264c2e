"""7b. When to look up an opened account waiting for its first deposit: the simulation of section 7
(``bench/scheduling.project``, the project's own ``check_policy`` and ``yield_plan``) run on the
deposit stage, where an account's age counts from its opening and the event awaited is the
first deposit within ``DEPOSIT_DAYS``.

Scenario (seeded): N accounts opened over 30 days in a campaign that asks for a first deposit
within 7 days; 45% deposit soon after opening (exponential, mean 40 minutes), 30% days later
(log-uniform over 1 to 14 days: some too late), 25% never. Compared at the same lookups: the
fixed waits counted from the opening (what the poller did before it learned the deposits) and
the deposit plan (``PollPlan.Stage.DEPOSIT``), given as many lookups a second as the fixed
waits used. Time to reward is from the deposit to the lookup that finds it.
"""

import math
import random
from datetime import timedelta

from .scheduling import CYCLE, CYCLE_SECONDS_USED, SHARE, SPREAD, START, Invitee, project, summary

DEPOSIT_DAYS = timedelta(days=7)
SOON = 0.45  # deposit right after opening (exponential, mean SOON_MEAN_MINUTES)
SOON_MEAN_MINUTES = 40
LATER = 0.30  # deposit 1 to LATER_DAYS days after opening (log-uniform): some past the deadline
LATER_DAYS = 14


def scenario(count: int, seed: int = 17) -> list[Invitee]:
    """Each opened account as the simulation's invitee: its "invitation" is the opening, its
    "opening" the first deposit, its window the deposit's deadline."""
    rng = random.Random(seed)
    people = []
    for number in range(count):
        opened_at = START + SPREAD * rng.random()
        draw = rng.random()
        if draw < SOON:
            funded_at = opened_at + timedelta(minutes=rng.expovariate(1 / SOON_MEAN_MINUTES))
        elif draw < SOON + LATER:
            funded_at = opened_at + timedelta(days=math.exp(rng.uniform(0, math.log(LATER_DAYS))))
        else:
            funded_at = None
        people.append(Invitee(number, opened_at, opened_at + DEPOSIT_DAYS, funded_at, None))
    return people


def run(quick: bool) -> dict:
    count = 5_000 if quick else 20_000
    people = scenario(count)
    fixed = project(people, rate=1000.0)  # a rate the fixed waits never reach: what they ask
    asked = fixed.lookups / fixed.seconds  # lookups a second the fixed waits used
    # the plan's budget is the poller's rate x SHARE x its cycle's share x (1 - signals' share):
    # the rate at which it asks what the fixed waits asked
    rate = asked / (SHARE * CYCLE_SECONDS_USED / CYCLE.total_seconds() * 0.9)
    planned = project(people, rate=rate, planned=True)
    results = {"accounts": count, "deposit_days": DEPOSIT_DAYS.days, "rate": rate}
    for name, outcome in (("fixed", fixed), ("planned", planned)):
        value = summary(outcome, count, rate)
        value.pop("waits")
        results[name] = value
        print(
            f"  {name:>8}: p50 {value['p50_min']:.1f} min, p95 {value['p95_min']:.1f} min,"
            f" p99 {value['p99_min']:.1f} min, {value['lookups_per_invitation']:.1f}"
            f" lookups/account, {value['rewarded']} rewarded",
            flush=True,
        )
    return results
