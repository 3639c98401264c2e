from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..models import Anomaly


def raise_anomaly(
    kind: str, subject: str, message: str, *, severity=Anomaly.Severity.WARNING, grant=None
) -> Anomaly:
    """Open an anomaly, or count one more occurrence of the open one with the same kind and
    subject (unique by a partial constraint, so concurrent raisers do not duplicate it)."""
    for _ in range(2):
        updated = Anomaly.objects.filter(
            kind=kind, subject=subject, status=Anomaly.Status.OPEN
        ).update(occurrences=F("occurrences") + 1, message=message)
        if updated:
            return Anomaly.objects.get(kind=kind, subject=subject, status=Anomaly.Status.OPEN)
        try:
            with transaction.atomic():
                return Anomaly.objects.create(
                    kind=kind, subject=subject, message=message, severity=severity, grant=grant
                )
        except IntegrityError:
            continue  # another process opened it a moment ago: count on it instead
    raise RuntimeError("could not open or update the anomaly")


@transaction.atomic
def review_anomaly(anomaly: Anomaly, *, status: str, note: str, actor) -> Anomaly:
    """Acknowledge, resolve or dismiss an anomaly; the note is appended with who and when."""
    locked = Anomaly.objects.select_for_update().get(pk=anomaly.pk)
    locked.status = status
    stamp = f"[{timezone.localtime():%Y-%m-%d %H:%M} {actor} → {status}] {note.strip()}"
    locked.notes = f"{locked.notes}\n{stamp}".strip()
    locked.save(update_fields=["status", "notes", "updated_at"])
    return locked
