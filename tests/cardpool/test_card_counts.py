"""The staff's pages read the pool's stock from the cluster's last count (CardCount) while it
is recent, and count the pool themselves when it is not; allocation and the stock rules always
count the pool."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cardpool.models import Card, CardCount
from cardpool.selectors import CARD_COUNT_MAX_AGE, card_kinds_with_stock, counted_at
from cardpool.services import import_cards, void_available_cards
from cardpool.services.stock_counts import count_cards
from rewards.selectors import stock_by_kind
from tests.cardpool.files import csv_bytes, good_rows
from tests.factories import CardKindFactory, make_cards
from tests.processes import run_workers, scalar

STATUSES = ["available_count", "assigned_count", "void_count", "expired_count"]


def _figures(queryset) -> dict:
    return {
        kind.code: [getattr(kind, name) for name in [*STATUSES, "allocatable_count"]]
        for kind in queryset
    }


def _pool():
    short, long_ = CardKindFactory(code="SHORT"), CardKindFactory(code="LONG")
    make_cards(short, 4, valid_days=10)  # available, but not allocatable (too close to expiry)
    make_cards(long_, 6, valid_days=365)
    Card.objects.filter(pk__in=Card.objects.filter(kind=long_).values("pk")[:2]).update(
        status=Card.Status.ASSIGNED, assigned_at=timezone.now()
    )
    return short, long_


@pytest.mark.django_db
def test_the_count_is_the_pools_by_kind_status_and_date():
    _pool()
    live = _figures(card_kinds_with_stock())
    assert counted_at() is None  # never counted: the pages count the pool
    assert _figures(card_kinds_with_stock(counted=True)) == live
    count_cards()
    assert counted_at() is not None
    assert _figures(card_kinds_with_stock(counted=True)) == live
    assert live == {"SHORT": [4, 0, 0, 0, 0], "LONG": [4, 2, 0, 0, 4]}
    now = timezone.now()
    assert stock_by_kind(now, counted=True) == stock_by_kind(now)
    assert sum(CardCount.objects.values_list("cards", flat=True)) == Card.objects.count()


@pytest.mark.django_db
def test_the_pages_show_the_count_while_recent_and_count_the_pool_once_it_is_old():
    short, _ = _pool()
    count_cards()
    void_available_cards(Card.objects.filter(kind=short).first().batch, reason="test", actor=None)
    # within the minute: the page shows the count, and says when it was made
    assert _figures(card_kinds_with_stock(counted=True))["SHORT"][:3] == [4, 0, 0]
    assert _figures(card_kinds_with_stock())["SHORT"][:3] == [0, 0, 4]  # the pool itself
    # allocation and the stock rules never read the count
    assert [kind.allocatable for kind in stock_by_kind(timezone.now())] == [4, 0]
    # a count older than the limit (the cluster stopped) is not shown
    CardCount.objects.update(counted_at=timezone.now() - CARD_COUNT_MAX_AGE - timedelta(seconds=1))
    assert counted_at() is None
    assert _figures(card_kinds_with_stock(counted=True))["SHORT"][:3] == [0, 0, 4]


@pytest.mark.django_db
def test_the_card_kinds_list_and_the_desk_say_when_the_cards_were_counted(admin_client):
    _pool()
    page = admin_client.get(reverse("admin:cardpool_cardkind_changelist")).content.decode()
    assert 'id="stock-counted"' in page  # "counted now"
    count_cards()
    when = timezone.localtime(counted_at()).strftime("%H:%M:%S")
    page = admin_client.get(reverse("admin:cardpool_cardkind_changelist")).content.decode()
    assert when in page
    assert when in admin_client.get(reverse("admin:index")).content.decode()


@pytest.mark.django_db
def test_an_import_counts_the_pool_once_it_is_committed(django_capture_on_commit_callbacks):
    kind = CardKindFactory(code="JD")
    with django_capture_on_commit_callbacks(execute=True):
        import_cards(kind=kind, file_name="a.csv", content=csv_bytes(good_rows(5)))
    assert counted_at() is not None
    assert _figures(card_kinds_with_stock(counted=True))["JD"][0] == 5


@pytest.mark.django_db(transaction=True)
def test_counters_running_at_once_leave_one_count():
    _pool()
    start_at = time.time() + 2
    results = run_workers("tests.cardpool.workers.count_cards_at", [(start_at,)] * 4)
    assert results == [results[0]] * 4 and results[0] > 0
    groups = (
        "SELECT count(*) FROM (SELECT DISTINCT kind_id, status, valid_until FROM cardpool_card) g"
    )
    assert scalar("SELECT count(*) FROM cardpool_cardcount") == scalar(groups)
    assert scalar("SELECT sum(cards) FROM cardpool_cardcount") == 10
