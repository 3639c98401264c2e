"""Stock rules (states: their anomalies close by themselves once the stock is back), and the
out-of-stock finding a grant raises at once when it finds no card. Small on purpose: the grant
path imports it."""

from datetime import datetime

from django.utils.translation import gettext as _

from ..models import AnomalyRule
from ..selectors import KindStock, stock_by_kind
from .registry import CRITICAL, WARNING, Finding, Found, once_per_run, rule, setting


def _stock(now: datetime) -> list[KindStock]:
    return once_per_run(
        "stock", lambda: stock_by_kind(now, expiring_days=setting("cards_expiring_days"))
    )


def _kind_found(kind_id: int, message: str, details: dict) -> Found:
    return Found(f"cardkind:{kind_id}", message, details, "cardpool.cardkind", kind_id)


def _out_of_stock_found(kind_id: int, code: str, waiting: int | None) -> Found:
    waiting_text = (
        _("%(count)s grants are waiting") % {"count": waiting}
        if waiting
        else _("grants are waiting")
    )
    return _kind_found(
        kind_id,
        _("%(kind)s is out of stock and %(waiting)s: import a batch.")
        % {"kind": code, "waiting": waiting_text},
        {"waiting": waiting},
    )


@rule(AnomalyRule.LOW_STOCK, WARNING, is_state=True)
def low_stock(now: datetime) -> list[Found]:
    return [
        _kind_found(
            kind.kind_id,
            _("%(kind)s: %(count)s cards can be handed out; the threshold is %(threshold)s.")
            % {"kind": kind.code, "count": kind.allocatable, "threshold": kind.threshold},
            {"allocatable": kind.allocatable, "threshold": kind.threshold},
        )
        for kind in _stock(now)
        if kind.allocatable < kind.threshold
    ]


@rule(AnomalyRule.OUT_OF_STOCK, CRITICAL, is_state=True)
def out_of_stock(now: datetime) -> list[Found]:
    return [
        _out_of_stock_found(kind.kind_id, kind.code, kind.waiting)
        for kind in _stock(now)
        if kind.allocatable == 0 and kind.waiting
    ]


@rule(AnomalyRule.CARDS_EXPIRING, WARNING, is_state=True)
def cards_expiring(now: datetime) -> list[Found]:
    days = setting("cards_expiring_days")
    return [
        _kind_found(
            kind.kind_id,
            _("%(kind)s: %(count)s available cards expire within %(days)s days.")
            % {"kind": kind.code, "count": kind.expiring, "days": days},
            {"expiring": kind.expiring, "days": days},
        )
        for kind in _stock(now)
        if kind.expiring
    ]


@rule(AnomalyRule.STOCK_DAYS_LEFT, WARNING, is_state=True)
def stock_days_left(now: datetime) -> list[Found]:
    minimum = setting("stock_min_days_left")
    return [
        _kind_found(
            kind.kind_id,
            _(
                "%(kind)s: %(count)s cards last %(days).1f days at the last 7 days' rate "
                "(%(rate).1f a day); the minimum is %(minimum)s days."
            )
            % {
                "kind": kind.code,
                "count": kind.allocatable,
                "days": kind.days_left,
                "rate": kind.issued_7d / 7,
                "minimum": minimum,
            },
            {"allocatable": kind.allocatable, "days_left": kind.days_left},
        )
        for kind in _stock(now)
        if kind.days_left is not None and kind.days_left < minimum
    ]


def out_of_stock_finding(kind_id: int, code: str, waiting: int | None = None) -> Finding:
    """Also raised at once by granting when a grant finds no card."""
    return out_of_stock.finding(_out_of_stock_found(kind_id, code, waiting))
