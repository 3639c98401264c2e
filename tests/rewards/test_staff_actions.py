import pytest
from django.db.models import Sum

from cardpool.models import Card
from core.exceptions import ReasonRequired
from rewards.exceptions import GrantNotInStatus
from rewards.models import Grant, GrantEvent, PointsEntry
from rewards.selectors import points_balance
from rewards.services import grant_reward, reissue_grant, void_grant
from tests.factories import CampaignFactory, make_cards, qualified_invitation

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(db):
    campaign = CampaignFactory(points=30)
    make_cards(campaign.card_kind, 3)
    return grant_reward(qualified_invitation(campaign=campaign))


def test_void_reverses_the_points_and_voids_the_card(issued, admin_user):
    old_card = issued.card
    with pytest.raises(ReasonRequired):
        void_grant(issued, reason=" ", actor=admin_user)

    void_grant(issued, reason="fraud confirmed", actor=admin_user)

    issued.refresh_from_db()
    old_card.refresh_from_db()
    assert (issued.status, issued.void_reason) == ("void", "fraud confirmed")
    assert old_card.status == Card.Status.VOID
    assert points_balance(issued.inviter) == 0
    assert list(PointsEntry.objects.order_by("id").values_list("kind", "amount")) == [
        ("reward", 30),
        ("reversal", -30),
    ]
    with pytest.raises(GrantNotInStatus):
        void_grant(issued, reason="again", actor=admin_user)
    assert PointsEntry.objects.count() == 2


def test_reissue_replaces_the_card_and_keeps_the_ledger_and_history(issued, admin_user):
    old_card = issued.card

    new = reissue_grant(issued, reason="customer reports card already activated", actor=admin_user)

    issued.refresh_from_db()
    old_card.refresh_from_db()
    assert (issued.status, issued.replaced_by) == ("void", new)
    assert new.status == "issued" and new.card != old_card and new.invitation == issued.invitation
    assert old_card.status == Card.Status.VOID
    assert points_balance(issued.inviter) == 30
    assert PointsEntry.objects.aggregate(total=Sum("amount"))["total"] == 30
    assert list(GrantEvent.objects.filter(grant=issued).values_list("action", flat=True)) == [
        "created",
        "issued",
        "reissued",
    ]
    assert Grant.objects.exclude(status="void").count() == 1
    with pytest.raises(GrantNotInStatus):
        reissue_grant(issued, reason="twice", actor=admin_user)


def test_a_reviewer_rejects_a_held_grant_which_is_voided_with_nothing_to_reverse(admin_user):
    from rewards.services import reject_hold

    campaign = CampaignFactory(points=30, is_flagged_for_review=True)
    make_cards(campaign.card_kind, 1)
    held = grant_reward(qualified_invitation(campaign=campaign))
    assert held.status == "held"
    with pytest.raises(ReasonRequired):
        reject_hold(held, reason=" ", actor=admin_user)

    reject_hold(held, reason="self-referral through a relative", actor=admin_user)

    held.refresh_from_db()
    assert (held.status, held.card) == ("void", None)
    assert held.void_reason == "rejected after review: self-referral through a relative"
    assert PointsEntry.objects.count() == 0 and points_balance(held.inviter) == 0
    assert list(GrantEvent.objects.filter(grant=held).values_list("action", flat=True)) == [
        "created",
        "held",
        "voided",
    ]
    with pytest.raises(GrantNotInStatus):
        reject_hold(held, reason="again", actor=admin_user)
