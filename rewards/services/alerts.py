"""Telling the reviewers of anomalies: an alert per anomaly and address on the outbox
(``notifications``), written in the transaction that marks the anomaly told, so each is told
once, a rolled-back change tells nothing and a committed one cannot lose its alert. The cluster
sends it by e-mail outside any transaction, apart from and before the customers' messages."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone, translation

from notifications.models import Message
from notifications.services import Notice, notify

from ..models import Anomaly

ALERT_TEXT_LIMIT = 1000  # an anomaly's message is short; a rule's error text may not be


def reviewer_emails() -> list[str]:
    reviewers = (
        get_user_model().objects.filter(is_active=True, groups__name="Reviewers").exclude(email="")
    )
    return sorted(
        set(settings.ANOMALY_EMAIL_RECIPIENTS) | set(reviewers.values_list("email", flat=True))
    )


@transaction.atomic
def alert_reviewers(anomaly_ids: list[int] | None = None) -> int:
    """Put each active anomaly not yet told (all, or those of ``anomaly_ids``) on the outbox
    for every reviewer address; returns how many anomalies. An alarm whose condition a run
    already saw gone (a restock being issued) is not told; with nobody to tell, anomalies wait
    untold until somebody is there. An anomaly locked by a reviewer at this moment is told by
    the next run."""
    addresses = reviewer_emails()
    if not addresses:
        return 0
    pending = Anomaly.objects.filter(
        status__in=Anomaly.ACTIVE, notified_at__isnull=True, cleared_at__isnull=True
    )
    if anomaly_ids is not None:
        pending = pending.filter(pk__in=anomaly_ids)
    anomalies = list(pending.select_for_update(skip_locked=True).order_by("pk"))
    with translation.override(settings.LANGUAGE_CODE):  # the staff's, whoever caused it
        notify(
            [
                Notice(None, Message.Kind.ANOMALY, _alert_params(anomaly), email=address)
                for anomaly in anomalies
                for address in addresses
            ]
        )
    Anomaly.objects.filter(pk__in=[anomaly.pk for anomaly in anomalies]).update(
        notified_at=timezone.now()
    )
    return len(anomalies)


def _alert_params(anomaly: Anomaly) -> dict:
    return {
        "anomaly": anomaly.pk,
        "level": anomaly.severity,
        "severity": str(anomaly.get_severity_display()),
        "rule": str(anomaly.get_kind_display()),
        "text": anomaly.message[:ALERT_TEXT_LIMIT],
        "url": f"{settings.SITE_URL.rstrip('/')}/admin/rewards/anomaly/{anomaly.pk}/change/",
    }
