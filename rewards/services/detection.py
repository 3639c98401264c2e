"""Run the anomaly rules and act on what they find: record, close, pause, tell the reviewers.

Scheduled every ``ANOMALY_INTERVAL_MINUTES`` and run on demand by ``manage.py
detect_anomalies``. Overlapping runs are harmless: anomalies are unique per rule and subject in
the database, a pause is idempotent, and an email is claimed with an advisory lock (never a row
lock: mail goes out after the commit, outside any transaction) before it is sent.
"""

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.actors import SystemActor
from core.clock import database_now
from core.locks import AdvisoryLock
from core.outbound import inside_transaction, refuse_inside_transaction
from invitations.models import Campaign, CampaignEvent
from invitations.services.campaigns import set_campaign_paused

from ..anomalies.rules import RULES, Finding, Rule, one_run
from ..events import anomaly_paused_campaign_event
from ..models import Anomaly, AnomalyRule
from .anomalies import close_anomaly_automatically, record_finding

logger = logging.getLogger(__name__)
CONDITION_GONE = "closed automatically: the condition was not found on a later run"
STATE_CLEARED = "closed automatically: the condition cleared at {at} and stayed cleared"
RULE_WORKS = "closed automatically: the rule ran again without an error"
NOTIFY_LOCK = AdvisoryLock.NOTIFY  # (NOTIFY_LOCK, anomaly id) is being emailed
NOTIFY_BUDGET_SECONDS = 30  # one run's sending; the rest waits for the next run


@dataclass
class DetectionRun:
    opened: list[int] = field(default_factory=list)
    seen_again: int = 0
    cleared: int = 0  # about a state: found gone, closed if it stays so
    closed: int = 0
    paused_campaigns: list[int] = field(default_factory=list)
    emailed: int = 0
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
    with one_run():
        for rule in RULES:
            try:
                findings = rule.find(now)
            except Exception as error:
                logger.exception("anomaly rule %s failed", rule.code)
                run.failed_rules.append(rule.code)
                _rule_failed(rule, error, run)
                continue
            _apply(rule, findings, run)
            _rule_works(rule, run)
    if inside_transaction():
        # run inline inside somebody's transaction (django-q2's scheduler in sync mode holds
        # its schedule rows locked): the reviewers' e-mail goes after that commit
        queue_notify_reviewers()
    else:
        run.emailed = notify_reviewers()
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
    for finding in findings:
        anomaly, is_new = record_finding(finding)
        seen.add(finding.subject)
        if is_new:
            run.opened.append(anomaly.pk)
        else:
            run.seen_again += 1
        if finding.campaign_id and rule.code in settings.ANOMALY_PAUSING_RULES:
            if _pause(finding.campaign_id, anomaly):
                run.paused_campaigns.append(finding.campaign_id)
    stale = Anomaly.objects.select_for_update().filter(kind=rule.code, status__in=Anomaly.ACTIVE)
    if not rule.is_state:  # a breach waits for a person; a signal gone is closed
        stale = stale.exclude(severity=Anomaly.Severity.CRITICAL)
    for anomaly in stale:
        if anomaly.subject in seen:
            continue
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
        AnomalyRule.RULE_FAILED, Anomaly.Severity.CRITICAL, f"rule:{rule.code}", message
    )
    anomaly, is_new = record_finding(finding)
    if is_new:
        run.opened.append(anomaly.pk)


@transaction.atomic
def _rule_works(rule: Rule, run: DetectionRun) -> None:
    failing = Anomaly.objects.select_for_update().filter(
        kind=AnomalyRule.RULE_FAILED, subject=f"rule:{rule.code}", status__in=Anomaly.ACTIVE
    )
    for anomaly in failing:
        close_anomaly_automatically(anomaly, RULE_WORKS)
        run.closed += 1


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


def reviewer_emails() -> list[str]:
    reviewers = (
        get_user_model().objects.filter(is_active=True, groups__name="Reviewers").exclude(email="")
    )
    return sorted(
        set(settings.ANOMALY_EMAIL_RECIPIENTS) | set(reviewers.values_list("email", flat=True))
    )


def notify_reviewers() -> int:
    """Email each active anomaly to the reviewers once (not once per occurrence); returns how
    many were sent. Runs outside any transaction, so no row lock is held while a mail server
    takes its time: each anomaly is claimed with a session advisory lock (two runs never send
    the same one at once), re-read, sent, then marked. A send that fails or times out
    (``EMAIL_TIMEOUT``) is logged and ends this run; the rest stay unmarked and go with the
    next run (an alert is better twice than never, and it is on the desk anyway)."""
    refuse_inside_transaction("notify_reviewers")
    recipients = reviewer_emails()
    if not recipients:
        return 0  # kept unnotified: sent once somebody is there to read it
    # an alarm whose condition this run already saw gone (a restock being issued) is not sent
    pending = Anomaly.objects.filter(
        status__in=Anomaly.ACTIVE, notified_at__isnull=True, cleared_at__isnull=True
    )
    deadline = time.monotonic() + NOTIFY_BUDGET_SECONDS
    mail = get_connection()
    sent = 0
    try:
        for anomaly_id in pending.order_by("pk").values_list("pk", flat=True):
            if time.monotonic() > deadline:
                break  # the next run sends the rest
            with _sending(anomaly_id) as mine:
                anomaly = pending.filter(pk=anomaly_id).first() if mine else None
                if anomaly is None:
                    continue  # another run holds it, or sent it since the list was read
                try:
                    mail.send_messages([_anomaly_email(anomaly, recipients)])
                except Exception:
                    logger.exception(
                        "anomaly email not sent (anomaly #%s); the next run tries again",
                        anomaly_id,
                    )
                    break  # the server is failing: do not wait on it once per anomaly
                pending.filter(pk=anomaly_id).update(notified_at=timezone.now())
                sent += 1
    finally:
        mail.close()
    return sent


def queue_notify_reviewers() -> None:
    """Queue ``notify_reviewers`` as a task once the caller's transaction commits, so a request
    that opened an anomaly never waits on the mail server (a broker failure is logged; the next
    detection run sends it)."""
    from django_q.tasks import async_task

    transaction.on_commit(
        lambda: async_task(
            "rewards.tasks.notify_reviewers", task_name="notify reviewers", timeout=90
        ),
        robust=True,
    )


def _anomaly_email(anomaly: Anomaly, recipients: list[str]) -> EmailMessage:
    return EmailMessage(
        subject=_("[referral rewards] %(severity)s: %(rule)s")
        % {"severity": anomaly.get_severity_display(), "rule": anomaly.get_kind_display()},
        body=_("%(message)s\n\nReview it: %(url)s\n")
        % {
            "message": anomaly.message,
            "url": f"{settings.SITE_URL}/admin/rewards/anomaly/{anomaly.pk}/change/",
        },
        to=recipients,
    )


@contextmanager
def _sending(anomaly_id: int):
    """A session advisory lock on (NOTIFY_LOCK, anomaly): held by one sender at a time, and no
    row lock, so the anomaly stays free for customers, staff and detection meanwhile."""
    key = [NOTIFY_LOCK, anomaly_id % 2**31]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        mine = cursor.fetchone()[0]
    try:
        yield mine
    finally:
        if mine:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
