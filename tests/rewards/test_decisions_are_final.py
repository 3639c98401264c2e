"""Invariant 14: a decision a person made is final for every automatic path.

The hole: staff voided a grant (or rejected a held one); the next ``grant_missed_rewards`` sweep
saw a qualified invitation without a live grant and granted it again, a new card and the points
again, and nothing noticed. Each test takes the real path: the admin action as staff click it,
then the sweep's command, the scheduled tasks, the poller's handler, restock fulfilment.
"""

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.urls import reverse

from cardpool.models import Card
from cardpool.services import void_card
from invitations.exceptions import DuplicateInvitation
from invitations.models import Campaign, Invitation
from invitations.services.campaigns import set_campaign_paused
from invitations.services.invitations import attribute_invitation
from rewards import tasks
from rewards.exceptions import NotGrantedAgain
from rewards.models import Anomaly, AnomalyRule, Grant, GrantEvent, PointsEntry
from rewards.services import grant_again, grant_reward, grant_rewards, void_grant
from rewards.services.batches import fulfil_pending_grants
from rewards.services.detection import detect_anomalies
from rewards.services.reconciliation import reconcile
from tests.factories import CampaignFactory, insert_grant_again, make_cards, qualified_invitation

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(client):
    call_command("setup_groups")
    user = User.objects.create_user("reviewer", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Reviewers"))
    client.force_login(user)
    return user


def grant_action(client, action: str, grant: Grant, reason: str):
    return client.post(
        reverse("admin:rewards_grant_changelist"),
        {"action": action, "_selected_action": [grant.pk], "apply": "1", "reason": reason},
    )


def paid() -> tuple[int, int, int]:
    """Grants ever made, live grants, points on the books."""
    points = PointsEntry.objects.aggregate(total=Sum("amount"))["total"] or 0
    return Grant.objects.count(), Grant.objects.live().count(), points


def every_automatic_path(invitation: Invitation) -> None:
    """Everything that runs without a person: the sweep's command and task, a batch, the poller's
    handler (``grant_reward``), restock fulfilment, detection, reconciliation."""
    call_command("grant_missed_rewards")
    tasks.grant_missed_rewards()
    grant_rewards([invitation.pk])
    grant_reward(invitation)
    tasks.fulfil_pending_grants()
    fulfil_pending_grants()
    detect_anomalies()


def test_a_grant_staff_voided_is_never_granted_again_by_an_automatic_path(client, reviewer):
    campaign = CampaignFactory(points=200)
    make_cards(campaign.card_kind, 5)
    grant = grant_reward(qualified_invitation(campaign=campaign))
    assert grant.status == Grant.Status.ISSUED

    grant_action(client, "void_selected", grant, "fraud confirmed by the call centre")
    grant.refresh_from_db()
    assert grant.status == Grant.Status.VOID
    assert paid() == (1, 0, 0)

    every_automatic_path(grant.invitation)

    assert paid() == (1, 0, 0)  # no new grant, no card, no points
    assert Card.objects.filter(status=Card.Status.ASSIGNED).count() == 0
    assert grant_reward(grant.invitation) == grant  # the decision stands, and is what it returns
    assert reconcile().is_ok


def test_a_hold_staff_rejected_is_never_granted_again_by_an_automatic_path(client, reviewer):
    campaign = CampaignFactory(is_flagged_for_review=True)
    make_cards(campaign.card_kind, 5)
    grant = grant_reward(qualified_invitation(campaign=campaign))
    assert grant.status == Grant.Status.HELD

    grant_action(client, "reject_selected", grant, "the invitee is the inviter's second phone")
    Campaign.objects.filter(pk=campaign.pk).update(is_flagged_for_review=False)

    every_automatic_path(grant.invitation)

    assert paid() == (1, 0, 0)
    assert reconcile().is_ok


def test_a_voided_waiting_grant_is_not_issued_by_a_restock(client, reviewer):
    campaign = CampaignFactory()
    grant = grant_reward(qualified_invitation(campaign=campaign))
    assert grant.status == Grant.Status.PENDING_STOCK
    grant_action(client, "void_selected", grant, "duplicate account")

    make_cards(campaign.card_kind, 3)  # the restock
    every_automatic_path(grant.invitation)

    assert paid() == (1, 0, 0)
    assert Card.objects.filter(status=Card.Status.AVAILABLE).count() == 3


def test_the_database_refuses_a_second_automatic_grant_for_an_invitation(admin_user):
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 2)
    grant = grant_reward(qualified_invitation(campaign=campaign))
    void_grant(grant, reason="fraud", actor=admin_user)

    # what the grant paths write, without their checks: the unique index refuses it
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_grant_again(grant, points=10)
    with pytest.raises(IntegrityError), transaction.atomic():  # an origin nobody knows
        Grant.objects.filter(pk=grant.pk).update(origin="")


def test_only_a_person_grants_a_voided_invitation_again_with_a_reason_and_an_event(
    client, reviewer
):
    campaign = CampaignFactory(points=200)
    make_cards(campaign.card_kind, 3)
    grant = grant_reward(qualified_invitation(campaign=campaign))
    grant_action(client, "void_selected", grant, "voided by mistake: wrong row")

    refused = grant_action(client, "grant_again_selected", grant, "  ")
    assert refused.status_code == 200 and 'name="reason"' in refused.content.decode()
    assert paid() == (1, 0, 0)

    grant_action(client, "grant_again_selected", grant, "the void was a mistake, ticket 4411")

    grant.refresh_from_db()
    new = grant.replaced_by
    assert (new.status, new.origin, new.points) == ("issued", "granted_again", 200)
    assert paid() == (2, 1, 200)
    [again] = GrantEvent.objects.filter(grant=grant, action=GrantEvent.Action.GRANTED_AGAIN)
    assert again.actor == reviewer and "ticket 4411" in again.reason
    assert GrantEvent.objects.get(grant=new, action="created").actor == reviewer

    every_automatic_path(grant.invitation)
    assert paid() == (2, 1, 200)
    assert reconcile().is_ok

    # once is enough: the void grant was granted again already
    with pytest.raises(NotGrantedAgain):
        grant_again(grant, reason="again", actor=reviewer)


def test_granting_again_keeps_the_cap(admin_user):
    campaign = CampaignFactory(max_rewards_per_inviter=1)
    make_cards(campaign.card_kind, 3)
    first = grant_reward(qualified_invitation(campaign=campaign))
    void_grant(first, reason="fraud", actor=admin_user)
    second = grant_reward(qualified_invitation(campaign=campaign, inviter=first.inviter))
    assert second.status == Grant.Status.ISSUED  # the void freed the inviter's one place

    with pytest.raises(NotGrantedAgain):
        grant_again(first, reason="mistake", actor=admin_user)
    assert Grant.objects.live().count() == 1


def test_attributing_the_same_invitee_again_is_refused(admin_user):
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 2)
    grant = grant_reward(qualified_invitation(campaign=campaign))
    void_grant(grant, reason="fraud", actor=admin_user)

    with pytest.raises(DuplicateInvitation):
        attribute_invitation(
            grant.inviter,
            grant.invitation.invitee_phone,
            campaign=campaign,
            signed_up_at=campaign.starts_at,
            reason="lost link",
            actor=admin_user,
        )
    assert paid()[0] == 1


def test_detection_does_not_pause_again_a_campaign_a_person_resumed(admin_user):
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 1)
    grant = grant_reward(qualified_invitation(campaign=campaign))
    with connection.cursor() as cursor:  # a breach that pauses its campaign: a deleted reward
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE rewards_pointsentry DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM rewards_pointsentry WHERE grant_id = %s", [grant.pk])
        cursor.execute("ALTER TABLE rewards_pointsentry ENABLE TRIGGER USER")
    assert detect_anomalies().paused_campaigns == [campaign.pk]

    set_campaign_paused(
        campaign, is_paused=False, reason="checked: booked by hand", actor=admin_user
    )
    again = detect_anomalies()

    campaign.refresh_from_db()
    assert again.paused_campaigns == [] and not campaign.is_paused
    assert Anomaly.objects.get(kind=AnomalyRule.LEDGER_MISMATCH).occurrences == 2


def test_a_card_never_becomes_available_again_whatever_writes_it(admin_user):
    campaign = CampaignFactory()
    voided, _, expired = make_cards(campaign.card_kind, 3)
    void_card(voided, reason="batch imported under the wrong kind", actor=admin_user)
    Card.objects.filter(pk=expired.pk).update(status=Card.Status.EXPIRED)
    grant = grant_reward(qualified_invitation(campaign=campaign))
    assert grant.status == Grant.Status.ISSUED

    for card_id, status in [
        (voided.pk, "available"),
        (voided.pk, "assigned"),
        (grant.card_id, "available"),  # the incident's manual "fix"
        (expired.pk, "available"),
    ]:
        with pytest.raises(Exception, match="only moves forward"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE cardpool_card SET status = %s WHERE id = %s", [status, card_id]
                )
