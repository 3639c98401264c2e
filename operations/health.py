"""Health checks: what a load balancer needs to route traffic (ready), and what monitoring
needs to know the money flows (status). Each check is named in the answer."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from rewards.models import Anomaly, ReconciliationRun
from rewards.selectors import poller_health


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


_migrated = False  # once this process saw every migration applied, it stays so


def database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return Check("database", False, type(error).__name__)
    return Check("database", True)


def migrations() -> Check:
    global _migrated
    if not _migrated:
        try:
            executor = MigrationExecutor(connection)
            missing = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as error:
            return Check("migrations", False, type(error).__name__)
        if missing:
            return Check("migrations", False, f"{len(missing)} not applied")
        _migrated = True
    return Check("migrations", True)


def broker() -> Check:
    if not settings.REDIS_URL:
        return Check("broker", True, "ORM broker: the database")
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        return Check("broker", False, type(error).__name__)
    return Check("broker", True, "redis")


def readiness() -> list[Check]:
    """Can this process serve requests? The poller's state is not part of it: a stalled worker
    cluster must not take the web pages out of the load balancer."""
    checks = [database()]
    if checks[0].ok:
        checks.append(migrations())
    return [*checks, broker()]


def status(now: datetime) -> list[Check]:
    """Readiness, and is the pipeline working: the poller's last cycle younger than its
    stalled threshold, the last reconciliation clean, no critical anomaly open."""
    checks = readiness()
    if not checks[0].ok:
        return checks
    health = poller_health(now)
    last = health.last_cycle_at
    checks.append(
        Check(
            "poller",
            not health.is_stalled,
            f"last cycle {last:%Y-%m-%d %H:%M:%S %Z}" if last else "never ran",
        )
    )
    run = ReconciliationRun.objects.order_by("-started_at").first()
    if run is None:
        checks.append(Check("reconciliation", False, "never ran"))
    else:
        checks.append(Check("reconciliation", run.is_ok, f"{run.breaches} breaches"))
    critical = Anomaly.objects.filter(
        status__in=Anomaly.ACTIVE, severity=Anomaly.Severity.CRITICAL
    ).count()
    checks.append(Check("anomalies", critical == 0, f"{critical} critical open"))
    return checks
