"""Every anomaly rule, gathered from this package's modules (``registry.rule`` declares each).

Money-like flows fail quietly: in the incident this system replaces, every failure was found by
customers days later. Thresholds are settings, documented in README.md."""

from . import fraud, invariants, money, pipeline, stock  # noqa: F401  (each module registers its rules)
from .registry import REGISTRY, Finding, Found, Rule, one_run

RULES: tuple[Rule, ...] = tuple(REGISTRY)
INVARIANTS: tuple[Rule, ...] = tuple(rule for rule in RULES if rule.is_invariant)

__all__ = ["INVARIANTS", "RULES", "Finding", "Found", "Rule", "one_run"]
