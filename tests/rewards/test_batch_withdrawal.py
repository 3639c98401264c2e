"""A batch imported under the wrong kind (#33, item 6): staff withdraw it with a reason, its
available cards are voided and the rewards already holding its cards are listed for review.
Through the admin's action, as a card manager uses it; the race with the grant path in
separate processes, counted in SQL afterwards."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.urls import reverse

from cardpool.models import Card, CardEvent
from rewards.services import grant_reward
from tests.factories import CampaignFactory, make_cards, qualified_invitation
from tests.processes import run_workers, scalar


def withdraw(client, batch, reason: str):
    return client.post(
        reverse("admin:cardpool_cardbatch_changelist"),
        {"action": "withdraw", "_selected_action": [batch.pk], "apply": "1", "reason": reason},
        follow=True,
    )


@pytest.mark.django_db
def test_withdrawing_a_batch_voids_its_available_cards_and_lists_the_rewards_holding_its_cards(
    client,
):
    call_command("setup_groups", verbosity=0)
    manager = User.objects.create_user("cards", password="pw", is_staff=True)
    manager.groups.add(Group.objects.get(name="Card managers"))
    client.force_login(manager)
    campaign = CampaignFactory()
    wrong = make_cards(campaign.card_kind, 5)[0].batch
    other = make_cards(campaign.card_kind, 2)[0].batch
    holding = [grant_reward(qualified_invitation(campaign=campaign)) for _ in range(2)]
    assert {grant.card.batch_id for grant in holding} == {wrong.pk}  # first imported, first out

    asked = withdraw(client, wrong, "  ")
    assert 'name="reason"' in asked.content.decode()
    assert Card.objects.filter(batch=wrong, status="available").count() == 3

    done = withdraw(client, wrong, "imported as JD20, the cards are JD50").content.decode()

    assert Card.objects.filter(batch=wrong, status="void").count() == 3
    assert Card.objects.filter(batch=wrong, status="assigned").count() == 2
    assert Card.objects.filter(batch=other, status="available").count() == 2
    events = CardEvent.objects.filter(card__batch=wrong, action="voided")
    assert events.count() == 3 and {event.actor for event in events} == {manager}
    assert {event.reason for event in events} == {
        f"batch #{wrong.pk} withdrawn: imported as JD20, the cards are JD50"
    }
    assert f"批次 #{wrong.pk}：已作废 3 张可用卡" in done
    assert f"?batch={wrong.pk}" in done
    listed = client.get(reverse("admin:rewards_grant_changelist"), {"batch": wrong.pk})
    page = listed.content.decode()
    assert all(grant.grant_no in page for grant in holding)
    batch_page = client.get(reverse("admin:cardpool_cardbatch_change", args=[wrong.pk]))
    assert "已作废: 3" in batch_page.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_a_withdrawal_racing_the_grant_path_leaves_every_card_void_or_with_one_live_grant():
    campaign = CampaignFactory()
    batch = make_cards(campaign.card_kind, 60)[0].batch
    for _ in range(80):
        qualified_invitation(campaign=campaign)

    run_workers(
        "tests.rewards.workers.grant_or_withdraw",
        [(seed, batch.pk) for seed in range(4)],
        timeout=180,
    )

    # a voided card is held by no live grant; every card held is assigned; nothing in between
    assert (
        scalar(
            """SELECT count(*) FROM cardpool_card c JOIN rewards_grant g ON g.card_id = c.id
           WHERE c.status = 'void' AND g.status <> 'void'"""
        )
        == 0
    )
    assert (
        scalar(
            """SELECT count(*) FROM cardpool_card c WHERE c.batch_id = %s AND c.status NOT IN
           ('void', 'assigned')""",
            [batch.pk],
        )
        == 0
    )
    assert (
        scalar(
            """SELECT count(*) FROM cardpool_card c WHERE c.status = 'assigned' AND NOT EXISTS
           (SELECT 1 FROM rewards_grant g WHERE g.card_id = c.id AND g.status = 'issued')"""
        )
        == 0
    )
