"""Eight processes, each with its own connection, empty a pool of 2,000 cards at once.

Counted afterwards with SQL. The same harness run with the incident's unlocked allocation must
find a card given twice, which shows that the harness can see the failure it guards against.
"""

import pytest
from django.db import connection

from tests.factories import CardKindFactory, make_cards
from tests.processes import run_workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

POOL = 2000
WORKERS = 8


def allocations_given_twice(kind_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM (
                SELECT e.card_id FROM cardpool_cardevent e JOIN cardpool_card c ON c.id = e.card_id
                WHERE e.action = 'assigned' AND c.kind_id = %s
                GROUP BY e.card_id HAVING count(*) > 1
            ) doubles
            """,
            [kind_id],
        )
        return cursor.fetchone()[0]


def assigned_cards(kind_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM cardpool_card WHERE kind_id = %s AND status = 'assigned'",
            [kind_id],
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("round_number", [1, 2, 3])
def test_eight_processes_never_allocate_a_card_twice(round_number):
    kind = CardKindFactory(code=f"R{round_number}")
    make_cards(kind, POOL)

    taken = run_workers("tests.cardpool.workers.allocate_until_empty", [(kind.code,)] * WORKERS)

    every_allocation = [card for worker in taken for card in worker]
    assert len(every_allocation) == POOL  # none lost
    assert len(set(every_allocation)) == POOL  # none given twice
    assert assigned_cards(kind.pk) == POOL
    assert allocations_given_twice(kind.pk) == 0
    assert sum(1 for worker in taken if worker) > 1  # the workers really overlapped


def test_the_harness_catches_the_incidents_unlocked_allocation():
    kind = CardKindFactory(code="BROKEN")
    make_cards(kind, 200)

    taken = run_workers(
        "tests.cardpool.workers.allocate_until_empty", [(kind.code, True)] * WORKERS
    )

    every_allocation = [card for worker in taken for card in worker]
    assert len(every_allocation) > len(set(every_allocation))
    assert allocations_given_twice(kind.pk) > 0
