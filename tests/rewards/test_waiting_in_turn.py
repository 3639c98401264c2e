"""Rewards waiting for stock are served in turn, and as soon as stock arrives (#31, item 5).

The hole: while two rewards waited for stock, a friend who qualified later got a card at once,
and the older two waited for the next fulfilment run; an imported batch served nobody until that
run. Through the grant path, the sweep's batches and the import, as the poller, the schedule
and staff use them."""

import pytest

from cardpool.services import import_cards
from rewards.models import Grant
from rewards.services import grant_reward, grant_rewards
from tests.cardpool.files import csv_bytes, good_rows
from tests.factories import CampaignFactory, make_cards, qualified_invitation

pytestmark = pytest.mark.django_db


def waiting_then_stock(cards: int):
    campaign = CampaignFactory()
    older = [grant_reward(qualified_invitation(campaign=campaign)) for _ in range(2)]
    assert {grant.status for grant in older} == {Grant.Status.PENDING_STOCK}
    make_cards(campaign.card_kind, cards)  # stock arrives before the fulfilment runs
    return campaign, older


def test_a_reward_earned_later_waits_its_turn_and_the_older_ones_are_served_first():
    campaign, older = waiting_then_stock(2)

    later = grant_reward(qualified_invitation(campaign=campaign))

    assert later.status == Grant.Status.PENDING_STOCK
    for grant in older:
        grant.refresh_from_db()
        assert grant.status == Grant.Status.ISSUED


def test_with_enough_cards_the_later_one_is_served_too_in_the_same_transaction():
    campaign, _older = waiting_then_stock(3)

    later = grant_reward(qualified_invitation(campaign=campaign))

    assert later.status == Grant.Status.ISSUED
    assert Grant.objects.filter(status=Grant.Status.ISSUED).count() == 3


def test_the_sweeps_batches_wait_their_turn_as_well():
    campaign, older = waiting_then_stock(2)
    later = [qualified_invitation(campaign=campaign) for _ in range(2)]

    grant_rewards([invitation.pk for invitation in later])

    issued = Grant.objects.filter(status=Grant.Status.ISSUED)
    assert set(issued.values_list("pk", flat=True)) == {grant.pk for grant in older}


def test_an_imported_batch_serves_the_waiting_rewards_right_after_its_commit(
    django_capture_on_commit_callbacks,
):
    campaign = CampaignFactory()
    waiting = [grant_reward(qualified_invitation(campaign=campaign)) for _ in range(3)]

    with django_capture_on_commit_callbacks(execute=True):
        import_cards(
            kind=campaign.card_kind, file_name="restock.csv", content=csv_bytes(good_rows(2))
        )

    statuses = [Grant.objects.get(pk=grant.pk).status for grant in waiting]
    assert statuses == [Grant.Status.ISSUED, Grant.Status.ISSUED, Grant.Status.PENDING_STOCK]
