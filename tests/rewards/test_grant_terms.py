"""Invariant 17: a reward is paid on the terms in force when it was earned, stored on the grant.

The hole: a grant waiting for stock took the campaign's card kind when it was issued, so a
reward earned under 20-yuan terms was paid a 50-yuan card (with the old points); a reissue took
the current kind too. Each test changes the campaign after the grant was earned, then takes the
scheduled path (restock fulfilment's task) or the staff action (reissue)."""

from decimal import Decimal

import pytest

from invitations.models import Campaign
from rewards import tasks
from rewards.models import Grant
from rewards.services import grant_reward, grant_rewards, reissue_grant
from tests.factories import CampaignFactory, CardKindFactory, make_cards, qualified_invitation

pytestmark = pytest.mark.django_db


@pytest.fixture
def jd50():
    return CardKindFactory(code="JD50", name="JD e-card 50 yuan", face_value=Decimal("50.00"))


def test_a_waiting_grant_is_issued_on_the_terms_it_was_earned_on(jd50):
    campaign = CampaignFactory(points=200)  # JD20, no stock
    single = grant_reward(qualified_invitation(campaign=campaign))
    batch = qualified_invitation(campaign=campaign)
    grant_rewards([batch.pk])
    assert Grant.objects.filter(status="pending_stock").count() == 2
    # the campaign's terms change while they wait; both kinds are restocked
    Campaign.objects.filter(pk=campaign.pk).update(card_kind=jd50, points=500)
    make_cards(jd50, 5)
    make_cards(campaign.card_kind, 5)

    assert tasks.fulfil_pending_grants() == 2

    for grant in Grant.objects.all():
        assert grant.status == "issued"
        assert (grant.card.kind.code, grant.face_value, grant.points) == (
            "JD20",
            Decimal("20.00"),
            200,
        )
    assert single.pk in Grant.objects.values_list("pk", flat=True)


def test_a_restock_of_the_campaigns_new_kind_does_not_serve_grants_earned_on_the_old(jd50):
    campaign = CampaignFactory()
    grant = grant_reward(qualified_invitation(campaign=campaign))
    Campaign.objects.filter(pk=campaign.pk).update(card_kind=jd50)
    make_cards(jd50, 5)

    assert tasks.fulfil_pending_grants() == 0
    grant.refresh_from_db()
    assert grant.status == "pending_stock" and grant.card_kind.code == "JD20"


def test_a_reissue_pays_the_terms_of_the_grant_it_replaces(jd50, admin_user):
    campaign = CampaignFactory(points=200)
    make_cards(campaign.card_kind, 2)
    grant = grant_reward(qualified_invitation(campaign=campaign))
    Campaign.objects.filter(pk=campaign.pk).update(card_kind=jd50, points=500)
    make_cards(jd50, 2)

    new = reissue_grant(grant, reason="card already activated", actor=admin_user)

    assert (new.card.kind.code, new.face_value, new.points) == ("JD20", Decimal("20.00"), 200)
