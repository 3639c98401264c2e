import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum

from cardpool.models import Card
from invitations.models import Invitation
from rewards.exceptions import NOT_QUALIFIED, NotQualified
from rewards.models import Anomaly, Grant, GrantEvent, PointsEntry, UnrewardedInvitation
from rewards.numbers import is_valid_grant_no
from rewards.selectors import points_balance
from rewards.services import fulfil_pending_grants, grant_reward, release_hold
from tests.factories import (
    CampaignFactory,
    CustomerFactory,
    InvitationFactory,
    make_cards,
    qualified_invitation,
)

pytestmark = pytest.mark.django_db


def test_a_qualified_invitation_gets_a_card_and_points_once():
    campaign = CampaignFactory(points=100)
    [card] = make_cards(campaign.card_kind, 1)
    invitation = qualified_invitation(campaign=campaign)

    grant = grant_reward(invitation)
    again = grant_reward(invitation)

    assert again == grant
    assert (grant.status, grant.card, grant.points) == ("issued", card, 100)
    assert is_valid_grant_no(grant.grant_no)
    card.refresh_from_db()
    assert card.status == Card.Status.ASSIGNED
    assert points_balance(invitation.inviter) == 100
    assert list(GrantEvent.objects.filter(grant=grant).values_list("action", flat=True)) == [
        "created",
        "issued",
    ]
    assert Grant.objects.count() == 1 and PointsEntry.objects.count() == 1


def test_a_pending_invitation_is_not_granted():
    invitation = InvitationFactory()
    with pytest.raises(NotQualified) as refused:
        grant_reward(invitation)
    assert str(refused.value) == NOT_QUALIFIED.format(invitation=invitation.pk, status="pending")
    assert Grant.objects.count() == 0


def test_the_inviters_cap_is_recorded_and_earns_nothing_more():
    campaign = CampaignFactory(max_rewards_per_inviter=2)
    make_cards(campaign.card_kind, 5)
    inviter = CustomerFactory()
    invitations = [qualified_invitation(campaign=campaign, inviter=inviter) for _ in range(3)]

    results = [grant_reward(invitation) for invitation in invitations]

    assert results[2] is None and all(results[:2])
    assert UnrewardedInvitation.objects.get().invitation == invitations[2]
    assert grant_reward(invitations[2]) is None  # still nothing on a retry
    assert Grant.objects.count() == 2 and points_balance(inviter) == 200


def test_without_stock_the_grant_waits_then_is_fulfilled_oldest_first():
    campaign = CampaignFactory(points=50)
    invitations = [qualified_invitation(campaign=campaign) for _ in range(3)]
    waiting = [grant_reward(invitation) for invitation in invitations]

    assert {grant.status for grant in waiting} == {"pending_stock"}
    assert PointsEntry.objects.count() == 0  # points wait with the card
    anomaly = Anomaly.objects.get(kind="out_of_stock")
    assert (anomaly.subject_object, anomaly.occurrences, anomaly.status) == (
        campaign.card_kind,
        3,
        "open",
    )
    assert anomaly.severity == "critical"  # grants wait: somebody must import cards

    make_cards(campaign.card_kind, 2)
    assert fulfil_pending_grants() == 2
    statuses = [Grant.objects.get(pk=grant.pk).status for grant in waiting]
    assert statuses == ["issued", "issued", "pending_stock"]
    assert PointsEntry.objects.aggregate(total=Sum("amount"))["total"] == 100


@pytest.mark.parametrize(
    ("flag", "hold_reason"),
    [
        ("inviter", "inviter flagged for review"),
        ("campaign", "campaign flagged for review"),
        ("paused", "campaign paused"),
    ],
)
def test_flagged_grants_are_held_without_card_or_points_until_released(
    flag, hold_reason, admin_user
):
    campaign = CampaignFactory(is_flagged_for_review=flag == "campaign")
    make_cards(campaign.card_kind, 1)
    inviter = CustomerFactory(is_flagged_for_review=flag == "inviter")
    invitation = qualified_invitation(campaign=campaign, inviter=inviter)
    if flag == "paused":
        campaign.is_paused = True
        campaign.save()

    grant = grant_reward(invitation)

    assert (grant.status, grant.card, PointsEntry.objects.count()) == ("held", None, 0)
    assert grant.hold_reason == hold_reason
    released = release_hold(grant, actor=admin_user, reason="checked")
    assert released.status == "issued" and released.card is not None
    assert points_balance(inviter) == campaign.points


def test_the_database_refuses_a_second_live_grant_and_a_shared_card():
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 2)
    first = grant_reward(qualified_invitation(campaign=campaign))
    with pytest.raises(IntegrityError), transaction.atomic():
        Grant.objects.create(
            grant_no="RG-DUPLICATE",
            invitation=first.invitation,
            inviter=first.inviter,
            campaign=campaign,
            card_kind=campaign.card_kind,
            face_value=campaign.card_kind.face_value,
            points=1,
            cap=campaign.max_rewards_per_inviter,
            status="pending_stock",
            origin="reissue",  # a staff path: only the one-live-grant rule stands in the way
        )
    other = grant_reward(qualified_invitation(campaign=campaign))
    with pytest.raises(IntegrityError), transaction.atomic():
        Grant.objects.filter(pk=other.pk).update(card=first.card)
    with pytest.raises(IntegrityError), transaction.atomic():
        Grant.objects.filter(pk=other.pk).update(grant_no=first.grant_no)


def test_an_invitation_cannot_be_qualified_without_an_account():
    with pytest.raises(IntegrityError), transaction.atomic():
        InvitationFactory(status=Invitation.Status.QUALIFIED)
