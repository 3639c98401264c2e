import json

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from ..anomalies.registry import Finding
from ..events import anomaly_closed_automatically_event, anomaly_reviewed_event
from ..models import Anomaly


def _subject_type(model: str | None) -> ContentType | None:
    if model is None:
        return None
    app_label, model_name = model.split(".")
    return ContentType.objects.get_by_natural_key(app_label, model_name)  # cached


COUNT_AGAIN_SQL = """
UPDATE rewards_anomaly a
SET occurrences = a.occurrences + 1, message = v.message, details = v.details::jsonb,
    last_seen_at = %(now)s, updated_at = %(now)s, cleared_at = NULL
FROM unnest(%(subjects)s::text[], %(messages)s::text[], %(details)s::text[])
     AS v(subject, message, details)
WHERE a.kind = %(kind)s AND a.subject = v.subject AND a.status = ANY(%(active)s)
RETURNING a.subject, a.id
"""


def count_again(rule: str, findings: list[Finding]) -> dict[str, int]:
    """One more occurrence of each of a rule's findings whose anomaly is still active, all in
    one statement (``record_finding`` does it one finding at a time: two statements each, which
    were most of a detection run with a hundred open signals). Returns the subjects counted,
    with their anomaly's id; the others are new, or were closed meanwhile."""
    if not findings:
        return {}
    encoder = Anomaly._meta.get_field("details").encoder
    with connection.cursor() as cursor:
        cursor.execute(
            COUNT_AGAIN_SQL,
            {
                "now": timezone.now(),
                "subjects": [finding.subject for finding in findings],
                "messages": [str(finding.message) for finding in findings],
                "details": [json.dumps(finding.details, cls=encoder) for finding in findings],
                "kind": rule,
                "active": list(Anomaly.ACTIVE),
            },
        )
        return dict(cursor.fetchall())


def record_finding(finding: Finding, *, grant=None) -> tuple[Anomaly, bool]:
    """Open an anomaly for ``finding``, or count one more occurrence of the active one with the
    same rule and subject (unique by a partial constraint, so concurrent raisers do not
    duplicate it). Returns the anomaly and whether it is new."""
    now = timezone.now()
    for _ in range(2):
        updated = Anomaly.objects.filter(
            kind=finding.rule, subject=finding.subject, status__in=Anomaly.ACTIVE
        ).update(
            occurrences=F("occurrences") + 1,
            message=finding.message,
            details=finding.details,
            last_seen_at=now,
            updated_at=now,
            cleared_at=None,  # the state is back
        )
        if updated:
            active = Anomaly.objects.get(
                kind=finding.rule, subject=finding.subject, status__in=Anomaly.ACTIVE
            )
            return active, False
        try:
            with transaction.atomic():
                created = Anomaly.objects.create(
                    kind=finding.rule,
                    subject=finding.subject,
                    severity=finding.severity,
                    message=finding.message,
                    details=finding.details,
                    subject_type=_subject_type(finding.subject_model),
                    subject_id=finding.subject_id,
                    campaign_id=finding.campaign_id,
                    grant=grant,
                    last_seen_at=now,
                )
                return created, True
        except IntegrityError:
            continue  # another process opened it a moment ago: count on it instead
    raise RuntimeError("could not open or update the anomaly")


def raise_anomaly(
    kind: str, subject: str, message: str, *, severity=Anomaly.Severity.WARNING, grant=None
) -> Anomaly:
    """Open an anomaly from an event (a customer's report), or count one more occurrence."""
    about_grant = grant is not None
    finding = Finding(
        kind,
        severity,
        subject,
        message,
        subject_model="rewards.grant" if about_grant else None,
        subject_id=grant.pk if about_grant else None,
        campaign_id=grant.campaign_id if about_grant else None,
    )
    return record_finding(finding, grant=grant)[0]


@transaction.atomic(durable=True)
def review_anomaly(anomaly: Anomaly, *, status: str, note: str, actor) -> Anomaly:
    """Acknowledge, resolve or dismiss an anomaly, recording who, when and the note."""
    locked = Anomaly.objects.select_for_update().get(pk=anomaly.pk)
    locked.status = status
    if status in (Anomaly.Status.RESOLVED, Anomaly.Status.FALSE_POSITIVE):
        locked.closed_at = timezone.now()
    locked.save(update_fields=["status", "closed_at", "updated_at"])
    anomaly_reviewed_event(locked, status=status, actor=actor, note=note.strip())
    return locked


def close_anomaly_automatically(anomaly: Anomaly, note: str) -> None:
    """Resolve an anomaly whose condition is gone: a signal not found again, or a state that
    stayed cleared (a breach of an invariant or a customer's report waits for a person). Runs
    inside the caller's transaction."""
    anomaly.status = Anomaly.Status.RESOLVED
    anomaly.closed_at = timezone.now()
    anomaly.save(update_fields=["status", "closed_at", "updated_at"])
    anomaly_closed_automatically_event(anomaly, note=note)
