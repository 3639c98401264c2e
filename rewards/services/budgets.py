"""A campaign's money: its budget and its daily limit, in yuan (cards at face value plus points
at the campaign's ``point_value``), spent by every grant that holds or will hold value (issued,
waiting for stock, held for review: every live grant).

``within_budget`` runs inside the grant path (``granting.grant_locked``), after the inviters'
locks: a transaction-scoped advisory lock per limited campaign, taken in campaign order, makes
the check and the grant one step for every process, so no number of them overspends (the lock
is not the campaign's row: staff edit that row, and detection pauses through it). A campaign
without a budget or a limit takes no lock. What is over the budget is recorded as such, for
staff to grant once they raise it (``grant_over_budget``); what is over the day's limit is left
qualified without a grant, and the sweep (``grant_missed_rewards``) grants it on a later day.
"""

from dataclasses import dataclass

from django.db import connection

from core.clock import database_now
from core.locks import AdvisoryLock
from notifications.quiet import start_of_day

from ..spending import Spent, grant_value, spent


@dataclass
class BudgetCheck:
    granted: list[dict]  # the rows that may be granted now
    over_budget: list[int]  # invitation ids over their campaign's budget
    deferred: list[int]  # invitation ids over the day's limit: granted on a later day


def within_budget(rows: list[dict]) -> BudgetCheck:
    """Split the grant path's locked rows (in invitation id order: the earlier invitation takes
    the last yuan) by their campaigns' budgets and daily limits, under the campaigns' budget
    locks (held until the caller's transaction ends)."""
    limited = sorted(
        {
            row["campaign_id"]
            for row in rows
            if row["campaign__budget"] is not None or row["campaign__daily_limit"] is not None
        }
    )
    check = BudgetCheck([], [], [])
    if not limited:
        check.granted = rows
        return check
    with connection.cursor() as cursor:
        for campaign_id in limited:  # in campaign order, like every other lock
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [int(AdvisoryLock.BUDGET), campaign_id % 2**31],
            )
    # read after the locks, as a statement of its own: it sees every grant committed by the
    # transaction that held a lock before this one
    sums = spent(limited, start_of_day(database_now()))
    for row in rows:
        campaign = row["campaign_id"]
        if campaign not in limited:
            check.granted.append(row)
            continue
        so_far = sums.setdefault(campaign, Spent())
        value = grant_value(
            row["campaign__card_kind__face_value"],
            row["campaign__points"],
            row["campaign__point_value"],
        )
        budget, daily = row["campaign__budget"], row["campaign__daily_limit"]
        if budget is not None and so_far.total + value > budget:
            check.over_budget.append(row["pk"])
        elif daily is not None and so_far.today + value > daily:
            check.deferred.append(row["pk"])
        else:
            so_far.total += value
            so_far.today += value
            check.granted.append(row)
    return check
