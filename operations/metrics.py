"""Metrics in Prometheus' text format, read from the database at each scrape: the same answer
from every web process, whatever the number of gunicorn workers and qcluster processes (no
per-process counters to aggregate). Each figure is one indexed or bounded query."""

from datetime import timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from cardpool.models import CardBatch
from invitations.models import Invitation, OpeningEventCount, PollCycle
from invitations.selectors import event_to_lookup_seconds
from notifications.models import Message
from notifications.selectors import outbox_health
from rewards.models import Anomaly, Grant
from rewards.selectors import poller_health, stock_by_kind

OUTCOMES = ("qualified", "not_yet_opened", "ineligible", "rejected", "expired", "errors")


def label_value(value) -> str:
    """A label value as the text format writes it: backslash, double quote and line feed
    escaped (``\\``, ``\\"``, ``\\n``), so a card kind's code cannot break the exposition."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


class Exposition:
    def __init__(self):
        self.lines: list[str] = []

    def add(self, name: str, help_text: str, samples, kind: str = "gauge") -> None:
        """``samples``: (value, labels) pairs; labels a dict, possibly empty."""
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for value, labels in samples:
            inner = ",".join(f"{key}={label_value(val)}" for key, val in labels.items())
            self.lines.append(f"{name}{{{inner}}} {value}" if inner else f"{name} {value}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _counts_by(queryset, field: str) -> dict:
    return dict(queryset.values_list(field).annotate(n=Count("pk")).order_by())


def render() -> str:
    now = timezone.now()
    out = Exposition()
    grants = _counts_by(Grant.objects.all(), "status")
    out.add(
        "referral_grants",
        "Grants by status.",
        [(grants.get(status, 0), {"status": status}) for status in Grant.Status.values],
    )
    stock = stock_by_kind(now, counted=True)
    out.add(
        "referral_cards_allocatable",
        "Cards that can be handed out, per kind.",
        [(kind.allocatable, {"kind": kind.code}) for kind in stock],
    )
    out.add(
        "referral_grants_waiting_for_stock",
        "Grants that found no card (allocation failures not yet fulfilled), per kind.",
        [(kind.waiting, {"kind": kind.code}) for kind in stock],
    )
    due = Invitation.objects.filter(status=Invitation.Status.PENDING, next_check_at__lte=now)
    out.add(
        "referral_invitations_due",
        "Pending invitations whose next check is due.",
        [(due.count(), {})],
    )
    health = poller_health(now)
    age = (now - health.last_cycle_at).total_seconds() if health.last_cycle_at else -1
    out.add(
        "referral_poll_last_cycle_age_seconds",
        "Seconds since the last poll cycle started (-1: never).",
        [(round(age, 1), {})],
    )
    recent = PollCycle.objects.filter(started_at__gte=now - timedelta(minutes=15))
    sums = recent.aggregate(**{name: Sum(name) for name in OUTCOMES})
    out.add(
        "referral_poll_outcomes_15m",
        "Outcomes of the lookups of the last 15 minutes' poll cycles.",
        [(sums[name] or 0, {"outcome": name}) for name in OUTCOMES],
    )
    out.add(
        "referral_upstream_lookups_15m",
        "Upstream lookups in the last 15 minutes, and how many failed.",
        [(health.lookups, {"result": "all"}), (health.errors, {"result": "failed"})],
    )
    anomalies = _counts_by(Anomaly.objects.filter(status__in=Anomaly.ACTIVE), "severity")
    out.add(
        "referral_anomalies_open",
        "Open or acknowledged anomalies, by severity.",
        [(anomalies.get(level, 0), {"severity": level}) for level in Anomaly.Severity.values],
    )
    events = OpeningEventCount.objects.filter(minute__gte=now - timedelta(minutes=15))
    counts = dict(events.values_list("outcome").annotate(n=Sum("count")).order_by())
    out.add(
        "referral_opening_events_15m",
        "Signed account-opened events of the last 15 minutes, by outcome (accepted, duplicate, "
        "ignored, throttled, refused_<why>, too_large).",
        [(n, {"outcome": outcome}) for outcome, n in sorted(counts.items())],
    )
    waits = event_to_lookup_seconds(now - timedelta(minutes=15))
    out.add(
        "referral_opening_event_to_decision_seconds",
        "From an accepted event (last 15 minutes) to the lookup that decided its invitation.",
        [(round(value, 1), {"quantile": quantile}) for quantile, value in waits.items()],
    )
    outbox = outbox_health(now)
    out.add(
        "referral_messages",
        "Messages to customers by outbox status (waiting, sent, inbox_only, skipped, dead).",
        [(outbox.by_status.get(status, 0), {"status": status}) for status in Message.Status.values],
    )
    out.add(
        "referral_messages_oldest_due_seconds",
        "How long the oldest message due for SMS or push has waited to be sent (0: none).",
        [(round(outbox.oldest_due_seconds, 1), {})],
    )
    imported = CardBatch.objects.aggregate(rows=Sum("row_count"))["rows"] or 0
    out.add(
        "referral_cards_imported_total",
        "Card rows ever imported.",
        [(imported, {})],
        kind="counter",
    )
    return out.text()
