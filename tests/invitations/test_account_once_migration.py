"""Migration invitations 0014: an account that qualified invitations in several campaigns (the
rule was once per campaign) keeps the first to qualify; the others are recorded as rejected,
with the reason and an event; their grants stay for a person, and reconciliation names the
account until the extra one is voided."""

from datetime import timedelta

import pytest
from django.utils import timezone

from invitations.models import Invitation, InvitationEvent
from rewards.services import grant_reward, void_grant
from rewards.services.reconciliation import reconcile
from tests.factories import CampaignFactory, make_cards, qualified_invitation
from tests.migrations import migrate

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("latest_migrations_after"),
]


def test_later_qualifications_of_an_account_are_rejected_and_their_grants_named(admin_user):
    migrate([("invitations", "0013_phones_are_ascii")])
    first_campaign, second_campaign = CampaignFactory(), CampaignFactory(name="second")
    make_cards(first_campaign.card_kind, 3)
    now = timezone.now()
    first = qualified_invitation(
        campaign=first_campaign, external_account_id="SAME", decided_at=now - timedelta(hours=1)
    )
    later = qualified_invitation(
        campaign=second_campaign, external_account_id="SAME", decided_at=now
    )
    other = qualified_invitation(campaign=second_campaign, external_account_id="OTHER")
    paid_twice = grant_reward(later)
    grant_reward(first)

    migrate()

    statuses = dict(Invitation.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "qualified", later.pk: "rejected", other.pk: "qualified"}
    later.refresh_from_db()
    assert later.rejection_reason == f"account SAME was already counted for invitation #{first.pk}"
    [event] = InvitationEvent.objects.filter(invitation=later)
    assert (event.action, event.actor_label) == ("rejected", "migration invitations 0014")
    run = reconcile()
    assert [breach["subject"] for breach in run.report["breaches"]] == ["account:SAME"]

    void_grant(paid_twice, reason="paid twice: one account in two campaigns", actor=admin_user)
    assert reconcile().is_ok
