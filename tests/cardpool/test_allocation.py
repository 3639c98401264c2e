from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from cardpool.exceptions import CARD_NOT_IN_STATUS, CardNotInStatus
from cardpool.models import Card, CardEvent
from cardpool.selectors import card_kinds_with_stock
from cardpool.services import allocate_cards, expire_cards, void_card
from core.exceptions import REASON_REQUIRED, ReasonRequired
from tests.factories import CardKindFactory, make_cards

pytestmark = pytest.mark.django_db


def test_allocation_takes_the_soonest_expiring_card_that_stays_valid(card_kind, settings):
    settings.CARD_MIN_VALIDITY_DAYS = 30
    too_soon = make_cards(card_kind, 1, valid_days=29, prefix="S")[0]
    later = make_cards(card_kind, 1, valid_days=300, prefix="L")[0]
    sooner = make_cards(card_kind, 1, valid_days=31, prefix="M")[0]

    with transaction.atomic():
        [first_id] = allocate_cards(card_kind.pk, 1)
        [second_id] = allocate_cards(card_kind.pk, 1)

    assert [first_id, second_id] == [sooner.pk, later.pk]
    first = Card.objects.get(pk=first_id)
    too_soon.refresh_from_db()
    assert too_soon.status == Card.Status.AVAILABLE
    assert first.status == Card.Status.ASSIGNED and first.assigned_at is not None
    event = CardEvent.objects.get(card=first)
    assert (event.action, event.from_status, event.to_status) == (
        "assigned",
        "available",
        "assigned",
    )


def test_no_card_takes_nothing_and_changes_nothing(card_kind, settings):
    make_cards(card_kind, 1, valid_days=5)
    other_kind = CardKindFactory(code="JD50", face_value=50)
    make_cards(other_kind, 1)

    with transaction.atomic():
        assert allocate_cards(card_kind.pk, 1) == []

    assert Card.objects.filter(status=Card.Status.ASSIGNED).count() == 0
    assert CardEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_allocation_refuses_to_run_outside_a_transaction(card_kind):
    make_cards(card_kind, 1)
    with pytest.raises(RuntimeError):
        allocate_cards(card_kind.pk, 1)
    assert Card.objects.filter(status=Card.Status.ASSIGNED).count() == 0


def test_a_rolled_back_grant_gives_the_card_back(card_kind):
    card = make_cards(card_kind, 1)[0]
    with pytest.raises(LookupError), transaction.atomic():
        assert allocate_cards(card_kind.pk, 1) == [card.pk]
        raise LookupError("the grant failed after the card was taken")
    card.refresh_from_db()
    assert card.status == Card.Status.AVAILABLE
    assert CardEvent.objects.count() == 0


def test_expired_cards_are_marked_and_never_allocated(card_kind, settings):
    settings.CARD_MIN_VALIDITY_DAYS = 0
    card = make_cards(card_kind, 1)[0]
    Card.objects.filter(pk=card.pk).update(valid_until=timezone.localdate() - timedelta(days=1))

    with transaction.atomic():
        assert allocate_cards(card_kind.pk, 1) == []
    assert expire_cards() == 1
    assert expire_cards() == 0

    card.refresh_from_db()
    assert card.status == Card.Status.EXPIRED
    assert CardEvent.objects.get(card=card).action == "expired"


def test_void_needs_a_reason_and_an_available_card(card_kind, admin_user):
    available, assigned = make_cards(card_kind, 2)
    Card.objects.filter(pk=assigned.pk).update(status="assigned", assigned_at=timezone.now())

    with pytest.raises(ReasonRequired) as no_reason:
        void_card(available, reason="  ", actor=admin_user)
    assert str(no_reason.value) == REASON_REQUIRED
    with pytest.raises(CardNotInStatus) as wrong_status:
        void_card(assigned, reason="damaged", actor=admin_user)
    assert str(wrong_status.value) == CARD_NOT_IN_STATUS.format(
        card=assigned.pk, status="assigned", expected="available"
    )
    assert CardEvent.objects.count() == 0

    void_card(available, reason="supplier recalled it", actor=admin_user)
    available.refresh_from_db()
    assert available.status == Card.Status.VOID
    event = CardEvent.objects.get(card=available)
    assert (event.action, event.reason, event.actor) == (
        "voided",
        "supplier recalled it",
        admin_user,
    )


def test_stock_counts_per_status(card_kind, settings):
    settings.CARD_MIN_VALIDITY_DAYS = 30
    make_cards(card_kind, 3)
    make_cards(card_kind, 2, valid_days=10, prefix="X")
    with transaction.atomic():
        allocate_cards(card_kind.pk, 1)
    kind = card_kinds_with_stock().get(pk=card_kind.pk)
    assert (kind.available_count, kind.assigned_count, kind.allocatable_count) == (4, 1, 2)


def test_next_available_card_is_an_index_lookup(card_kind):
    from django.db import connection

    from cardpool.lock_objects import next_available_cards
    from cardpool.services import allocation_horizon

    make_cards(card_kind, 50)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # small table: force the planner's hand
        query = next_available_cards(card_kind.pk, allocation_horizon())[:1]
        with transaction.atomic():
            plan = query.explain()
    assert "card_available_by_expiry" in plan
