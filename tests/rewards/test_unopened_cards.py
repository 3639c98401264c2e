"""Cards that expire unseen: an issued card whose validity ends before its customer opens it.

The hole: the card stayed "Ready" with "Show card" and no word of expiry, and nothing told
staff. The customer's page says it expired and what to do; the review desk counts unopened
cards expiring soon and expired, each a link to the grants; a reissue (a staff action with a
reason) replaces it with a valid card."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cardpool.models import Card
from rewards.models import Grant
from rewards.services import grant_reward
from tests.factories import CampaignFactory, CustomerFactory, make_cards, qualified_invitation

pytestmark = pytest.mark.django_db


def issued(customer, campaign) -> Grant:
    return grant_reward(qualified_invitation(campaign=campaign, inviter=customer))


def valid_until(grant: Grant, days: int) -> None:
    day = timezone.localdate() + timedelta(days=days)
    Card.objects.filter(pk=grant.card_id).update(valid_until=day)


@pytest.fixture
def grants():
    """Four issued cards of one customer: expired unopened, expired opened, expiring soon
    unopened, and valid for long."""
    campaign, customer = CampaignFactory(), CustomerFactory()
    make_cards(campaign.card_kind, 10)
    expired, opened, soon, fine = (issued(customer, campaign) for _ in range(4))
    valid_until(expired, -2)
    valid_until(opened, -2)
    Grant.objects.filter(pk=opened.pk).update(first_revealed_at=timezone.now())
    valid_until(soon, 3)
    return expired, opened, soon, fine


def test_the_customer_reads_that_an_unopened_card_expired_and_what_to_do(client, grants):
    expired, opened, soon, fine = grants
    client.force_login(expired.inviter.user)

    page = client.get(reverse("rewards:my_rewards")).content.decode()

    def item(grant):
        return page.split(f'id="grant-{grant.grant_no}"')[1].split("</li>")[0]

    assert "已过期" in item(expired) and "请致电客服" in item(expired)
    assert "查看卡密" not in item(expired)  # nothing left to show
    assert "已过期" in item(opened) and "请致电客服" not in item(opened)
    assert "已过期" not in item(soon) and "查看卡密" in item(soon)
    assert "已过期" not in item(fine)


def test_the_desk_counts_unopened_cards_expiring_and_expired_and_lists_them(admin_client, grants):
    expired, _, soon, _ = grants

    desk = admin_client.get(reverse("admin:index")).content.decode()
    assert '?unopened=expiring">1</a>' in desk
    assert '?unopened=expired" class="alert">1</a>' in desk

    for value, grant in [("expiring", soon), ("expired", expired)]:
        listed = admin_client.get(reverse("admin:rewards_grant_changelist") + f"?unopened={value}")
        assert listed.status_code == 200
        assert [row.pk for row in listed.context["cl"].result_list] == [grant.pk]


def test_a_reissue_replaces_an_expired_unopened_card_with_a_valid_one(admin_client, grants):
    expired = grants[0]
    admin_client.post(
        reverse("admin:rewards_grant_changelist"),
        {
            "action": "reissue_selected",
            "_selected_action": [expired.pk],
            "apply": "1",
            "reason": "card expired before the customer opened it",
        },
    )
    expired.refresh_from_db()
    new = expired.replaced_by
    assert new.status == "issued" and new.card.valid_until > timezone.localdate()
