"""Reconciliation: every invariant checked, and the counts an operator compares with the books.

``manage.py reconcile`` prints it and exits non-zero on a breach; a daily schedule stores each
run so the admin shows the last one.
"""

from django.db import connection
from django.utils import timezone

from core.clock import database_now

from ..anomalies.rules import INVARIANTS, RULES, one_run
from ..models import ReconciliationRun

COUNTS = {
    "invitations_by_status": """
        SELECT status, count(*) FROM invitations_invitation
        WHERE %(campaign)s::bigint IS NULL OR campaign_id = %(campaign)s GROUP BY status""",
    "grants_by_status": """
        SELECT status, count(*) FROM rewards_grant
        WHERE %(campaign)s::bigint IS NULL OR campaign_id = %(campaign)s GROUP BY status""",
    "cards_by_kind_and_status": """
        SELECT k.code || ' ' || c.status, count(*)
        FROM cardpool_card c JOIN cardpool_cardkind k ON k.id = c.kind_id
        WHERE %(campaign)s::bigint IS NULL OR c.kind_id = (
            SELECT card_kind_id FROM invitations_campaign WHERE id = %(campaign)s)
        GROUP BY k.code, c.status""",
    "points": """
        SELECT e.kind, sum(e.amount) FROM rewards_pointsentry e
        LEFT JOIN rewards_grant g ON g.id = e.grant_id
        WHERE %(campaign)s::bigint IS NULL OR g.campaign_id = %(campaign)s GROUP BY e.kind""",
    "inviters_against_cap": """
        SELECT CASE WHEN n > cap THEN 'over_cap' WHEN n = cap THEN 'at_cap' ELSE 'under_cap' END,
               count(*)
        FROM (SELECT count(*) AS n, c.max_rewards_per_inviter AS cap
              FROM rewards_grant g JOIN invitations_campaign c ON c.id = g.campaign_id
              WHERE g.status <> 'void' AND g.side = 'inviter'
                AND (%(campaign)s::bigint IS NULL OR g.campaign_id = %(campaign)s)
              GROUP BY g.inviter_id, g.campaign_id, c.max_rewards_per_inviter) per_inviter
        GROUP BY 1""",
}


def _counts(campaign_id: int | None) -> dict:
    counts = {}
    with connection.cursor() as cursor:
        for name, sql in COUNTS.items():
            cursor.execute(sql, {"campaign": campaign_id})
            counts[name] = {key: int(value) for key, value in sorted(cursor.fetchall())}
    points = counts["points"]
    points["balance"] = sum(points.values())
    return counts


def _findings(rules, now, campaign_id: int | None) -> list[dict]:
    return [
        {"rule": finding.rule, "subject": finding.subject, "message": finding.message}
        for rule in rules
        for finding in rule.find(now)
        if campaign_id is None or finding.campaign_id in (None, campaign_id)
    ]


def reconcile(*, campaign_id: int | None = None, actor_label: str = "") -> ReconciliationRun:
    """Check every invariant (for one campaign, or all) and store the report. Breaches name the
    ids involved; warnings (low stock and the like) are reported but do not fail the run."""
    run = ReconciliationRun.objects.create(actor_label=actor_label)
    now = database_now()
    invariant_codes = {rule.code for rule in INVARIANTS}
    others = [rule for rule in RULES if rule.code not in invariant_codes]
    with one_run():
        breaches = _findings(INVARIANTS, now, campaign_id)
        warnings = _findings(others, now, campaign_id)
    run.report = {
        "campaign_id": campaign_id,
        "checked_at": now.isoformat(),
        "invariants_checked": sorted(invariant_codes),
        "breaches": breaches,
        "warnings": warnings,
        "counts": _counts(campaign_id),
    }
    run.breaches = len(breaches)
    run.is_ok = not breaches
    run.finished_at = timezone.now()
    run.save()
    return run
