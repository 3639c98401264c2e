"""Run the anomaly rules and act on what they find: record, close, pause, tell the reviewers.

Scheduled every ``ANOMALY_INTERVAL_MINUTES`` and run on demand by ``manage.py
detect_anomalies``. Overlapping runs are harmless: anomalies are unique per rule and subject in
the database, a pause is idempotent, and each new anomaly's alert to the reviewers is written to
the outbox once, in the transaction that marks it told (``alerts``); the cluster e-mails it.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import SystemActor
from core.clock import database_now
from invitations.models import Campaign, CampaignEvent
from invitations.services.campaigns import set_campaign_paused

from ..anomalies.rules import RULES, Finding, Rule, one_run
from ..events import anomaly_paused_campaign_event
from ..models import Anomaly, AnomalyRule
from .alerts import alert_reviewers
from .anomalies import close_anomaly_automatically, count_again, record_finding

logger = logging.getLogger(__name__)
CONDITION_GONE = "closed automatically: the condition was not found on a later run"
STATE_CLEARED = "closed automatically: the condition cleared at {at} and stayed cleared"
RULE_WORKS = "closed automatically: the rule ran again without an error"


@dataclass
class DetectionRun:
    opened: list[int] = field(default_factory=list)
    seen_again: int = 0
    cleared: int = 0  # about a state: found gone, closed if it stays so
    closed: int = 0
    paused_campaigns: list[int] = field(default_factory=list)
    alerted: int = 0  # anomalies put on the outbox for the reviewers
    failed_rules: list[str] = field(default_factory=list)
    truncated_rules: list[str] = field(default_factory=list)

    @property
    def critical_active(self) -> int:
        return Anomaly.objects.filter(
            status__in=Anomaly.ACTIVE, severity=Anomaly.Severity.CRITICAL
        ).count()


def detect_anomalies() -> DetectionRun:
    """Run every rule once. A rule that fails (a bug, a timeout) is logged and skipped; the
    others still run, and its open anomalies are not closed on a run that could not look. The
    failure is itself an anomaly (``rule_failed``, critical: its condition is watched by nobody
    meanwhile), closed by the first run in which the rule works again."""
    run = DetectionRun()
    now = database_now()
    active = Anomaly.objects.filter(status__in=Anomaly.ACTIVE)
    # What is open before the run: a rule that finds nothing and has nothing open is done with
    # its one query (an anomaly opened meanwhile by another run is closed by the next one).
    open_kinds = set(active.order_by().values_list("kind", flat=True).distinct())
    failing = set(active.filter(kind=AnomalyRule.RULE_FAILED).values_list("subject", flat=True))
    with one_run():
        for rule in RULES:
            try:
                findings = rule.find(now)
            except Exception as error:
                logger.exception("anomaly rule %s failed", rule.code)
                run.failed_rules.append(rule.code)
                _rule_failed(rule, error, run)
                continue
            if findings or rule.code in open_kinds:
                _apply(rule, findings, run)
            if _failure_subject(rule) in failing:
                _rule_works(rule, run)
    run.alerted = alert_reviewers()
    return run


@transaction.atomic
def _apply(rule: Rule, findings: list[Finding], run: DetectionRun) -> None:
    limit = settings.ANOMALY_MAX_FINDINGS_PER_RULE
    truncated = len(findings) > limit
    if truncated:
        # A mass breach (a hand-written UPDATE over a whole table) must not stall detection for
        # hours: the first findings are recorded, the count is in the log and the run's result.
        logger.warning(
            "anomaly rule %s found %d; recording the first %d", rule.code, len(findings), limit
        )
        run.truncated_rules.append(rule.code)
        findings = findings[:limit]
    seen = set()
    counted = count_again(rule.code, findings)
    for finding in findings:
        seen.add(finding.subject)
        if finding.subject in counted:
            anomaly = None
            run.seen_again += 1
        else:
            anomaly, is_new = record_finding(finding)
            if is_new:
                run.opened.append(anomaly.pk)
            else:
                run.seen_again += 1
        if finding.campaign_id and rule.code in settings.ANOMALY_PAUSING_RULES:
            anomaly = anomaly or Anomaly.objects.get(pk=counted[finding.subject])
            if _pause(finding.campaign_id, anomaly):
                run.paused_campaigns.append(finding.campaign_id)
    stale = Anomaly.objects.select_for_update().filter(kind=rule.code, status__in=Anomaly.ACTIVE)
    if not rule.is_state:  # a breach waits for a person; a signal gone is closed
        stale = stale.exclude(severity=Anomaly.Severity.CRITICAL)
    for anomaly in stale.exclude(subject__in=seen):
        if not rule.is_state:
            close_anomaly_automatically(anomaly, CONDITION_GONE)
            run.closed += 1
        elif anomaly.cleared_at is None:  # said on the desk; closed if it stays so
            anomaly.cleared_at = timezone.now()
            anomaly.save(update_fields=["cleared_at", "updated_at"])
            run.cleared += 1
        elif timezone.now() - anomaly.cleared_at >= _stays_cleared():
            at = timezone.localtime(anomaly.cleared_at).strftime("%Y-%m-%d %H:%M")
            close_anomaly_automatically(anomaly, STATE_CLEARED.format(at=at))
            run.closed += 1


@transaction.atomic
def _rule_failed(rule: Rule, error: Exception, run: DetectionRun) -> None:
    message = _(
        "Anomaly rule %(rule)s failed (%(error)s): what it watches is not checked until it "
        "works again."
    ) % {"rule": rule.code, "error": f"{type(error).__name__}: {error}"[:300]}
    finding = Finding(
        AnomalyRule.RULE_FAILED, Anomaly.Severity.CRITICAL, _failure_subject(rule), message
    )
    anomaly, is_new = record_finding(finding)
    if is_new:
        run.opened.append(anomaly.pk)


@transaction.atomic
def _rule_works(rule: Rule, run: DetectionRun) -> None:
    failing = Anomaly.objects.select_for_update().filter(
        kind=AnomalyRule.RULE_FAILED, subject=_failure_subject(rule), status__in=Anomaly.ACTIVE
    )
    for anomaly in failing:
        close_anomaly_automatically(anomaly, RULE_WORKS)
        run.closed += 1


def _failure_subject(rule: Rule) -> str:
    return f"rule:{rule.code}"


def _stays_cleared():
    return timedelta(minutes=settings.ANOMALY_CLEARED_CLOSE_MINUTES)


def _pause(campaign_id: int, anomaly: Anomaly) -> bool:
    """Pause the campaign's granting (new grants are held) with the anomaly as the reason;
    unless a person resumed it since the anomaly was opened: they saw it and decided, and
    detection does not undo that on its next run (invariant 14). A new anomaly pauses again."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.is_paused:
        return False
    resumed_by_a_person = CampaignEvent.objects.filter(
        campaign_id=campaign_id,
        action=CampaignEvent.Action.RESUMED,
        actor__isnull=False,
        created_at__gte=anomaly.created_at,
    )
    if resumed_by_a_person.exists():
        return False
    reason = f"anomaly #{anomaly.pk} ({anomaly.kind}): {anomaly.message}"
    set_campaign_paused(campaign, is_paused=True, reason=reason, actor_label=SystemActor.DETECTION)
    anomaly_paused_campaign_event(anomaly, campaign=campaign)
    return True
