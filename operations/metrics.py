"""Metrics in Prometheus' text format, read from the database at each scrape: the same answer
from every web process, whatever the number of gunicorn workers and qcluster processes (no
per-process counters to aggregate). Each figure is one indexed or bounded query."""

from datetime import timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from cardpool.models import CardBatch
from invitations.models import Invitation, PollCycle
from rewards.models import Anomaly, Grant
from rewards.selectors import poller_health, stock_by_kind

OUTCOMES = ("qualified", "not_yet_opened", "ineligible", "rejected", "expired", "errors")


def _line(name: str, value, **labels) -> str:
    if labels:
        inner = ",".join(f'{key}="{str(val).replace(chr(34), "")}"' for key, val in labels.items())
        return f"{name}{{{inner}}} {value}"
    return f"{name} {value}"


def _metric(lines: list, name: str, kind: str, help_text: str, samples) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    lines.extend(samples)


def render() -> str:
    now = timezone.now()
    lines: list[str] = []
    by_status = dict(Grant.objects.values_list("status").annotate(n=Count("pk")).order_by())
    _metric(
        lines,
        "referral_grants",
        "gauge",
        "Grants by status.",
        [
            _line("referral_grants", by_status.get(status, 0), status=status)
            for status in Grant.Status.values
        ],
    )
    stock = stock_by_kind(now)
    _metric(
        lines,
        "referral_cards_allocatable",
        "gauge",
        "Cards that can be handed out, per kind.",
        [_line("referral_cards_allocatable", kind.allocatable, kind=kind.code) for kind in stock],
    )
    _metric(
        lines,
        "referral_grants_waiting_for_stock",
        "gauge",
        "Grants that found no card (allocation failures not yet fulfilled), per kind.",
        [
            _line("referral_grants_waiting_for_stock", kind.waiting, kind=kind.code)
            for kind in stock
        ],
    )
    pending = Invitation.objects.filter(status=Invitation.Status.PENDING)
    _metric(
        lines,
        "referral_invitations_due",
        "gauge",
        "Pending invitations whose next check is due.",
        [_line("referral_invitations_due", pending.filter(next_check_at__lte=now).count())],
    )
    health = poller_health(now)
    age = (now - health.last_cycle_at).total_seconds() if health.last_cycle_at else -1
    _metric(
        lines,
        "referral_poll_last_cycle_age_seconds",
        "gauge",
        "Seconds since the last poll cycle started (-1: never).",
        [_line("referral_poll_last_cycle_age_seconds", round(age, 1))],
    )
    recent = PollCycle.objects.filter(started_at__gte=now - timedelta(minutes=15))
    sums = recent.aggregate(**{name: Sum(name) for name in OUTCOMES})
    _metric(
        lines,
        "referral_poll_outcomes_15m",
        "gauge",
        "Outcomes of the lookups of the last 15 minutes' poll cycles.",
        [_line("referral_poll_outcomes_15m", sums[name] or 0, outcome=name) for name in OUTCOMES],
    )
    _metric(
        lines,
        "referral_upstream_lookups_15m",
        "gauge",
        "Upstream lookups in the last 15 minutes, and how many failed.",
        [
            _line("referral_upstream_lookups_15m", health.lookups, result="all"),
            _line("referral_upstream_lookups_15m", health.errors, result="failed"),
        ],
    )
    open_anomalies = dict(
        Anomaly.objects.filter(status__in=Anomaly.ACTIVE)
        .values_list("severity")
        .annotate(n=Count("pk"))
        .order_by()
    )
    _metric(
        lines,
        "referral_anomalies_open",
        "gauge",
        "Open or acknowledged anomalies, by severity.",
        [
            _line("referral_anomalies_open", open_anomalies.get(severity, 0), severity=severity)
            for severity in Anomaly.Severity.values
        ],
    )
    imported = CardBatch.objects.aggregate(rows=Sum("row_count"))["rows"] or 0
    _metric(
        lines,
        "referral_cards_imported_total",
        "counter",
        "Card rows ever imported.",
        [_line("referral_cards_imported_total", imported)],
    )
    return "\n".join(lines) + "\n"
