"""The set-based path: every invariant of the single path, for a batch in one transaction."""

import pytest
from django.db.models import Sum

from cardpool.models import Card, CardEvent
from rewards.models import Anomaly, AnomalyRule, Grant, GrantEvent, PointsEntry
from rewards.models import UnrewardedInvitation as Unrewarded
from rewards.numbers import is_valid_grant_no
from rewards.services import (
    batches,
    fulfil_pending_grants,
    grant_missed_rewards,
    grant_reward,
    grant_rewards,
    granting,
)
from tests.factories import (
    CampaignFactory,
    CustomerFactory,
    InvitationFactory,
    make_cards,
    qualified_invitation,
)

pytestmark = pytest.mark.django_db


def ids(invitations) -> list[int]:
    return [invitation.pk for invitation in invitations]


def test_a_batch_issues_each_invitation_once_with_the_soonest_expiring_cards():
    campaign = CampaignFactory(points=100)
    later = make_cards(campaign.card_kind, 3, valid_days=300, prefix="L")
    sooner = make_cards(campaign.card_kind, 3, valid_days=100, prefix="S")
    invitations = [qualified_invitation(campaign=campaign) for _ in range(4)]

    result = grant_rewards(ids(invitations))

    assert (result.issued, result.pending_stock, result.skipped) == (4, 0, 0)
    assert result.one_by_one == 0  # the set-based path did it, not the fallback
    grants = list(Grant.objects.order_by("invitation_id"))
    assert [grant.invitation_id for grant in grants] == ids(invitations)
    # the three soonest-expiring cards first, in expiry order, then the next
    assert [grant.card_id for grant in grants] == [*ids(sooner), later[0].pk]
    assert all(is_valid_grant_no(grant.grant_no) for grant in grants)
    assert len({grant.grant_no for grant in grants}) == 4
    assert Card.objects.filter(status="assigned").count() == 4
    assert CardEvent.objects.filter(action="assigned").count() == 4
    assert PointsEntry.objects.aggregate(total=Sum("amount"))["total"] == 400
    for grant in grants:
        actions = list(grant.events.order_by("pk").values_list("action", flat=True))
        assert actions == ["created", "issued"]
        assert grant.events.get(action="issued").card_id == grant.card_id


def test_a_batch_run_again_changes_nothing():
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 5)
    invitations = [qualified_invitation(campaign=campaign) for _ in range(3)]
    pending = InvitationFactory(campaign=campaign)
    grant_reward(invitations[0])  # one granted by the single path already

    first = grant_rewards([*ids(invitations), pending.pk])
    second = grant_rewards([*ids(invitations), pending.pk])

    assert (first.issued, first.skipped, first.one_by_one) == (2, 2, 0)
    assert (second.issued, second.skipped, second.one_by_one) == (0, 4, 0)
    assert Grant.objects.count() == 3
    assert GrantEvent.objects.count() == 6 and PointsEntry.objects.count() == 3


def test_the_cap_is_ranked_within_the_batch_and_against_earlier_grants():
    campaign = CampaignFactory(max_rewards_per_inviter=3)
    make_cards(campaign.card_kind, 10)
    inviter, other = CustomerFactory(), CustomerFactory()
    earlier = [qualified_invitation(campaign=campaign, inviter=inviter) for _ in range(2)]
    for invitation in earlier:
        grant_reward(invitation)
    batch = [qualified_invitation(campaign=campaign, inviter=inviter) for _ in range(3)]
    others = [qualified_invitation(campaign=campaign, inviter=other) for _ in range(4)]

    result = grant_rewards(ids(batch) + ids(others))

    # one place left for the inviter: the earliest invitation of the batch takes it
    assert Grant.objects.filter(invitation=batch[0]).exists()
    assert set(Unrewarded.objects.values_list("invitation_id", flat=True)) == {
        batch[1].pk,
        batch[2].pk,
        others[3].pk,
    }
    assert set(Unrewarded.objects.values_list("reason", flat=True)) == {"over_cap"}
    assert (result.issued, result.over_cap, result.one_by_one) == (4, 3, 0)
    assert Grant.objects.filter(inviter=inviter).count() == 3
    assert Grant.objects.filter(inviter=other).count() == 3


def test_flagged_inviters_and_paused_campaigns_hold_their_grants_and_take_no_card():
    campaign, paused = CampaignFactory(), CampaignFactory(is_paused=True)
    make_cards(campaign.card_kind, 5)
    flagged = CustomerFactory(is_flagged_for_review=True)
    held_by_inviter = qualified_invitation(campaign=campaign, inviter=flagged)
    held_by_campaign = qualified_invitation(campaign=paused)
    issued = qualified_invitation(campaign=campaign)

    result = grant_rewards(ids([held_by_inviter, held_by_campaign, issued]))

    assert (result.issued, result.held, result.one_by_one) == (1, 2, 0)
    reasons = dict(Grant.objects.values_list("invitation_id", "hold_reason"))
    assert reasons == {
        held_by_inviter.pk: "inviter flagged for review",
        held_by_campaign.pk: "campaign paused",
        issued.pk: "",
    }
    assert Card.objects.filter(status="assigned").count() == 1
    held = Grant.objects.get(invitation=held_by_inviter)
    assert list(held.events.order_by("pk").values_list("action", "reason")) == [
        ("created", ""),
        ("held", "inviter flagged for review"),
    ]
    assert PointsEntry.objects.count() == 1


def test_a_short_stock_leaves_the_rest_waiting_and_raises_the_stock_out():
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 2)
    invitations = [qualified_invitation(campaign=campaign) for _ in range(5)]

    result = grant_rewards(ids(invitations))

    assert (result.issued, result.pending_stock, result.one_by_one) == (2, 3, 0)
    statuses = list(Grant.objects.order_by("invitation_id").values_list("status", flat=True))
    assert statuses == ["issued"] * 2 + ["pending_stock"] * 3
    assert Anomaly.objects.filter(
        kind=AnomalyRule.OUT_OF_STOCK, subject=f"cardkind:{campaign.card_kind_id}", status="open"
    ).exists()
    assert PointsEntry.objects.count() == 2


def test_a_batch_that_fails_is_granted_one_by_one(monkeypatch):
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 5)
    invitations = [qualified_invitation(campaign=campaign) for _ in range(3)]

    numbers = granting.next_grant_nos

    def broken(count):  # fails for the batch; one at a time works
        if count > 1:
            raise RuntimeError("the sequence is gone")
        return numbers(count)

    monkeypatch.setattr(granting, "next_grant_nos", broken)
    result = grant_rewards(ids(invitations))

    assert (result.issued, result.one_by_one, result.failed) == (3, 3, 0)
    assert Grant.objects.filter(status="issued").count() == 3
    # nothing of the failed batch is left: three cards, three events of each kind
    assert Card.objects.filter(status="assigned").count() == 3
    assert CardEvent.objects.filter(action="assigned").count() == 3


def test_the_sweep_grants_qualified_invitations_left_without_a_grant():
    campaign = CampaignFactory(max_rewards_per_inviter=1)
    make_cards(campaign.card_kind, 10)
    inviter = CustomerFactory()
    missed = [qualified_invitation(campaign=campaign) for _ in range(5)]
    over = [qualified_invitation(campaign=campaign, inviter=inviter) for _ in range(2)]
    granted = qualified_invitation(campaign=campaign)
    grant_reward(granted)
    InvitationFactory(campaign=campaign)  # pending: not the sweep's

    result = grant_missed_rewards(batch_size=3)

    assert (result.issued, result.over_cap, result.one_by_one) == (6, 1, 0)
    assert Grant.objects.filter(invitation__in=[*missed, over[0]]).count() == 6
    assert Unrewarded.objects.get().invitation_id == over[1].pk
    again = grant_missed_rewards(batch_size=3)
    assert (again.issued, again.over_cap, again.skipped) == (0, 0, 0)


def test_fulfilment_issues_the_oldest_waiting_grants_while_cards_last(caplog):
    campaign = CampaignFactory(points=50)
    invitations = [qualified_invitation(campaign=campaign) for _ in range(5)]
    grant_rewards(ids(invitations))
    waiting = list(Grant.objects.order_by("created_at", "pk").values_list("pk", flat=True))
    make_cards(campaign.card_kind, 3)

    assert fulfil_pending_grants() == 3

    issued = set(Grant.objects.filter(status="issued").values_list("pk", flat=True))
    assert issued == set(waiting[:3])
    assert PointsEntry.objects.aggregate(total=Sum("amount"))["total"] == 150
    assert GrantEvent.objects.filter(action="issued").count() == 3
    make_cards(campaign.card_kind, 5)
    assert fulfil_pending_grants() == 2
    assert not Grant.objects.filter(status="pending_stock").exists()
    assert "one by one" not in caplog.text  # the batch did it, not the fallback


def test_fulfilment_in_batches_of_two_hundred_issues_more_than_a_batch(monkeypatch):
    monkeypatch.setattr(batches, "BATCH_SIZE", 4)
    campaign = CampaignFactory()
    grant_rewards(ids([qualified_invitation(campaign=campaign) for _ in range(10)]))
    make_cards(campaign.card_kind, 10)

    assert fulfil_pending_grants() == 10


def test_the_repair_command_grants_the_missed_and_issues_the_waiting():
    from io import StringIO

    from django.core.management import call_command

    campaign = CampaignFactory()
    missed = [qualified_invitation(campaign=campaign) for _ in range(3)]
    grant_rewards([missed[0].pk])  # waits: no card yet
    make_cards(campaign.card_kind, 3)
    out = StringIO()

    call_command("grant_missed_rewards", stdout=out)

    # the older waiting grant is served first, in the batch's transaction (it waited longest)
    assert "granted 2 issued" in out.getvalue() and "then 0 waiting grants issued" in out.getvalue()
    assert Grant.objects.filter(status="issued").count() == 3
