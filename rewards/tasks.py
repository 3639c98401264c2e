"""django-q2 entry points."""

from core.actors import SystemActor

from .services import fulfil_pending_grants as fulfil
from .services import grant_missed_rewards as sweep
from .services.alerts import alert_reviewers
from .services.detection import detect_anomalies as detect
from .services.reconciliation import reconcile as reconcile_all


def fulfil_pending_grants() -> int:
    return fulfil()


def grant_missed_rewards() -> dict:
    return vars(sweep())


def detect_anomalies() -> int:
    """How many anomalies the run opened; a run in which a rule failed is a failed task (the
    failure is also a critical anomaly and fails /health/status)."""
    run = detect()
    if run.failed_rules:
        raise RuntimeError(f"anomaly rules failed: {', '.join(run.failed_rules)}")
    return len(run.opened)


def notify_reviewers() -> int:
    """Kept for tasks an earlier version queued before it was upgraded: their anomalies go on
    the outbox (today's alerts are written with the anomaly, never queued)."""
    return alert_reviewers()


def reconcile() -> bool:
    return reconcile_all(actor_label=SystemActor.SCHEDULER).is_ok


def remind_unopened_cards() -> int:
    from .services.reminders import remind_unopened_cards as remind

    return remind()
