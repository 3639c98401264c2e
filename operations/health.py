"""Health checks: what a load balancer needs to route traffic (ready), and what monitoring
needs to know the money flows (status). Each check is named in the answer."""

import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.db.migrations.executor import MigrationExecutor

from rewards.models import Anomaly, AnomalyRule, ReconciliationRun
from rewards.selectors import poller_health


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""
    warning: bool = False  # named when not ok, but does not make the answer a 503


_migrated = False  # once this process saw every migration applied, it stays so


# The database part of readiness answers within this many seconds (or DB_CONNECT_TIMEOUT when
# that is longer and a new connection is being made): a server that stopped answering on an
# established connection is not noticed by TCP for minutes, so the socket is cut instead.
DATABASE_DEADLINE_SECONDS = 3.0


class _Watchdog:
    """Cut this thread's database connection's socket if the work under it is not over at the
    deadline: the blocked read returns at once with an error, and the connection is closed."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.fired = False
        self.db = connections[DEFAULT_DB_ALIAS]  # this thread's: the timer thread has its own
        self.thread = threading.Thread(target=self._watch, name="health-deadline", daemon=True)

    def _watch(self) -> None:
        while not self.finished.wait(0.05):
            if time.monotonic() < self.deadline:
                continue
            with self.lock:
                raw = self.db.connection
                if self.finished.is_set() or raw is None:
                    continue  # still connecting: DB_CONNECT_TIMEOUT bounds that
                self.fired = True
                try:
                    cut = socket.socket(fileno=os.dup(raw.pgconn.socket))
                except (OSError, psycopg.Error):  # already closed: nothing left to cut
                    return
                try:
                    cut.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                finally:
                    cut.close()
                return

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        with self.lock:
            self.finished.set()
        self.thread.join()
        if self.fired and not self.db.in_atomic_block:
            _close(self.db)  # its socket is cut: never hand it to the next request


def _close(db) -> None:
    try:
        db.close()
    except DatabaseError:
        pass  # closed all the same


def database() -> Check:
    """One round trip on this process's connection (a new one if it has none). Straight on
    psycopg's connection: Django's own health check of a kept connection would, on a failure,
    connect again, and a silent server would then take DB_CONNECT_TIMEOUT a second time."""
    db = connections[DEFAULT_DB_ALIAS]
    try:
        db.ensure_connection()
        db.connection.execute("SELECT 1")
    except (DatabaseError, psycopg.Error) as error:
        if not db.in_atomic_block:
            _close(db)  # broken: the next check (or request) starts a new one
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
    with _Watchdog(DATABASE_DEADLINE_SECONDS) as watchdog:
        checks = [database()]
        if checks[0].ok:
            checks.append(migrations())
    if watchdog.fired:
        late = f"no answer within {DATABASE_DEADLINE_SECONDS:g} s"
        checks = [Check("database", False, late)]
    return [*checks, broker()]


def reconciliation(now: datetime) -> list[Check]:
    """The latest finished run decides (a run killed midway never finishes, and must not turn
    the status red for good), and it must be recent: a schedule whose every run dies leaves an
    old clean run behind. A run started and unfinished past RECONCILE_MAX_MINUTES, later than
    the latest finished one, is its own check, "reconciliation_stuck"."""
    runs = ReconciliationRun.objects.order_by("-started_at")
    finished = runs.filter(finished_at__isnull=False).first()
    if finished is None:
        decided = Check("reconciliation", False, "never finished")
    else:
        age = now - finished.finished_at
        max_age = timedelta(hours=settings.RECONCILE_MAX_AGE_HOURS)
        detail = (
            f"{finished.breaches} breaches, finished {finished.finished_at:%Y-%m-%d %H:%M:%S %Z}"
        )
        if age > max_age:
            detail += f", older than {settings.RECONCILE_MAX_AGE_HOURS} h"
        decided = Check("reconciliation", finished.is_ok and age <= max_age, detail)
    started = runs.filter(finished_at__isnull=True)
    if finished is not None:
        started = started.filter(started_at__gt=finished.started_at)
    unfinished = started.first()
    limit = timedelta(minutes=settings.RECONCILE_MAX_MINUTES)
    if unfinished is None or now - unfinished.started_at <= limit:
        stuck = Check("reconciliation_stuck", True, "running" if unfinished else "", warning=True)
    else:
        stuck = Check(
            "reconciliation_stuck",
            False,
            f"run {unfinished.pk} started {unfinished.started_at:%Y-%m-%d %H:%M:%S %Z}, "
            f"unfinished after {settings.RECONCILE_MAX_MINUTES} min",
            warning=True,
        )
    return [decided, stuck]


def status(now: datetime) -> list[Check]:
    """Readiness, and is the pipeline working: the poller's last cycle younger than its
    stalled threshold, the last reconciliation clean, no critical anomaly open that operations
    must act on now. Not counted: one customer's card report (a reviewer's work on the desk, not
    the service's health: one person's report must not page anyone or fail a load balancer) and
    an anomaly whose condition has already cleared (it closes by itself)."""
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
    checks.extend(reconciliation(now))
    critical = (
        Anomaly.objects.filter(
            status__in=Anomaly.ACTIVE,
            severity=Anomaly.Severity.CRITICAL,
            cleared_at__isnull=True,
        )
        .exclude(kind=AnomalyRule.CARD_REPORTED)
        .count()
    )
    checks.append(Check("anomalies", critical == 0, f"{critical} critical open"))
    return checks
