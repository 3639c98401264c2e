"""A campaign's money: its budget and its daily limit, in yuan (cards at face value plus points
at the campaign's ``point_value``), spent by every grant that holds or will hold value (issued,
waiting for stock, held for review: every live grant).

``Budgets`` runs inside the grant path (``granting.grant_locked``), after the inviters'
locks: a transaction-scoped advisory lock per limited campaign, taken in campaign order, makes
the check and the grant one step for every process, so no number of them overspends (the lock
is not the campaign's row: staff edit that row, and detection pauses through it). A campaign
without a budget or a limit takes no lock. What is over the budget is recorded as such, for
staff to grant once they raise it (``grant_over_budget``); what is over the day's limit is left
qualified without a grant, and the sweep (``grant_missed_rewards``) grants it on a later day.
"""

from datetime import datetime
from decimal import Decimal

from django.db import connection

from core.locks import AdvisoryLock
from notifications.quiet import start_of_day

from ..exceptions import StillOverBudget
from ..spending import Spent, spent


def lock_budgets(campaign_ids) -> None:
    """The campaigns' budget locks, in campaign order, until the transaction ends."""
    with connection.cursor() as cursor:
        for campaign_id in sorted(set(campaign_ids)):
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [int(AdvisoryLock.BUDGET), campaign_id % 2**31],
            )


def _today() -> datetime:
    """The start of the day of this transaction's start: ``now()``, the time every grant it
    writes is stamped with, so that a grant is counted in the day it is dated."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return start_of_day(cursor.fetchone()[0])


def _limit_passed(so_far: Spent, value: Decimal, budget, daily_limit) -> str | None:
    """Which limit ``value`` more would pass: "budget", "today", or None (it fits)."""
    if budget is not None and so_far.total + value > budget:
        return "budget"
    if daily_limit is not None and so_far.today + value > daily_limit:
        return "today"
    return None


def ensure_room(campaign, value: Decimal, *, invitation_id: int) -> None:
    """For a staff action that adds ``value`` to a campaign's spend (a grant made again, a
    reward moved to a dearer card kind): raise ``StillOverBudget`` when it does not fit the
    budget or today's limit. Call with the campaign's budget lock held (``lock_budgets``)."""
    if value <= 0 or (campaign.budget is None and campaign.daily_limit is None):
        return
    so_far = spent({campaign.pk: campaign.point_value}, _today()).get(campaign.pk, Spent())
    passed = _limit_passed(so_far, value, campaign.budget, campaign.daily_limit)
    if passed == "budget":
        raise StillOverBudget(invitation_id, campaign.budget, so_far.total, value)
    if passed == "today":
        raise StillOverBudget(invitation_id, campaign.daily_limit, so_far.today, value, today=True)


class Budgets:
    """The budgets and daily limits of the grant path's campaigns (``rows``: the locked
    invitations), their locks taken and what each has spent read when it is made; ``take`` then
    answers for each invitation in turn (in invitation id order: the earlier one takes the last
    yuan). A campaign without a budget or a limit takes no lock and is never read."""

    def __init__(self, rows: list[dict]):
        self.limits = {
            row["campaign_id"]: (row["campaign__budget"], row["campaign__daily_limit"])
            for row in rows
            if row["campaign__budget"] is not None or row["campaign__daily_limit"] is not None
        }
        self.sums: dict[int, Spent] = {}
        if self.limits:
            lock_budgets(self.limits)
            # read after the locks, as a statement of its own: it sees every grant committed by
            # the transaction that held a lock before this one
            point_values = {row["campaign_id"]: row["campaign__point_value"] for row in rows}
            self.sums = spent({c: point_values[c] for c in self.limits}, _today())

    def take(self, campaign_id: int, value: Decimal) -> str | None:
        """Count ``value`` (an invitation's rewards, every side) against its campaign: None when
        it fits, else which limit it would pass ("budget", "today") and nothing is counted."""
        if campaign_id not in self.limits:
            return None
        so_far = self.sums.setdefault(campaign_id, Spent())
        passed = _limit_passed(so_far, value, *self.limits[campaign_id])
        if passed is None:
            so_far.total += value
            so_far.today += value
        return passed
