"""The anomaly rules' registry: each rule is a function of the database's "now" that runs one
query and returns what it found (``Found``), declared once with its code and severity by the
``rule`` decorator; the registry turns what it found into ``Finding``s. A rule changes nothing:
applying findings (deduplicating, closing, pausing, emailing) is ``rewards.services.detection``.
The rules themselves are in this package's modules by family (``rules`` gathers them)."""

from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, models

from ..models import Anomaly

CRITICAL, WARNING = Anomaly.Severity.CRITICAL, Anomaly.Severity.WARNING
SAMPLE = 20  # ids listed in a finding's details, at most

_run_cache: ContextVar[dict | None] = ContextVar("anomaly_run_cache", default=None)


@contextmanager
def one_run():
    """Rules run inside it share what several of them read (``once_per_run``)."""
    token = _run_cache.set({})
    try:
        yield
    finally:
        _run_cache.reset(token)


def once_per_run(key: str, read: Callable[[], object]):
    """``read()``, once for all the rules of one run (``one_run``); each time outside a run."""
    cache = _run_cache.get()
    if cache is None:
        return read()
    if key not in cache:
        cache[key] = read()
    return cache[key]


@dataclass(frozen=True)
class Found:
    """What a rule found, before the registry names the rule and its severity."""

    subject: str  # deduplication key, e.g. "customer:12@campaign:3"
    message: str
    details: dict = field(default_factory=dict)
    subject_model: str | None = None  # "app_label.model" of the object it is about
    subject_id: int | None = None
    campaign_id: int | None = None


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    subject: str
    message: str
    details: dict = field(default_factory=dict)
    subject_model: str | None = None
    subject_id: int | None = None
    campaign_id: int | None = None

    @classmethod
    def of(cls, rule: str, severity: str, found: Found) -> "Finding":
        return cls(rule, severity, **vars(found))


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    search: Callable[[datetime], list[Found]]
    # about a state that comes and goes (stock, the poller, the upstream): its anomaly closes
    # by itself once the state stays cleared. Breaches and signals wait for a person.
    is_state: bool = False
    # an invariant that cannot happen: checked by ``reconcile`` too, and a breach fails it
    is_invariant: bool = False

    def find(self, now: datetime) -> list[Finding]:
        return [self.finding(found) for found in self.search(now)]

    def finding(self, found: Found) -> Finding:
        return Finding.of(self.code, self.severity, found)

    __call__ = find


REGISTRY: list[Rule] = []  # in the order the rules are declared


def rule(code: str, severity: str, *, is_state: bool = False, invariant: bool = False):
    """Declare a rule: the decorated function returns ``Found``s; the name it is bound to
    becomes the registered ``Rule``."""

    def register(search: Callable[[datetime], list[Found]]) -> Rule:
        if any(known.code == code for known in REGISTRY):
            raise ValueError(f"anomaly rule {code} is declared twice")
        declared = Rule(code, severity, search, is_state=is_state, is_invariant=invariant)
        REGISTRY.append(declared)
        return declared

    return register


class _Table:
    """In a rule's SQL, ``{grant}`` is the model's table and ``{grant.void}`` one of its choices,
    quoted: a table renamed or a status dropped breaks the import, never a rule in silence."""

    def __init__(self, model):
        self.model = model

    def __str__(self) -> str:
        return self.model._meta.db_table

    def __getattr__(self, value: str) -> str:
        for name in dir(self.model):
            choices = getattr(self.model, name)
            if isinstance(choices, type) and issubclass(choices, models.TextChoices):
                if value in choices.values:
                    return f"'{value}'"
        raise AttributeError(f"{self.model.__name__} has no choice {value!r}")


def sql(template: str) -> str:
    from cardpool.models import Card, CardEvent
    from invitations.models import Invitation

    from ..models import Grant, PointsEntry

    tables = {"card": Card, "cardevent": CardEvent, "invitation": Invitation, "grant": Grant}
    tables["pointsentry"] = PointsEntry
    return template.format(**{name: _Table(model) for name, model in tables.items()})


def fetch(sql: str, params: dict | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.fetchall()


def setting(name: str):
    """A threshold (``thresholds.DEFAULT_THRESHOLDS``, as the deployment set it)."""
    return settings.ANOMALY_THRESHOLDS[name]
