"""Staff edits racing the grant path (#33): each in separate processes with their own
connections, counted in SQL afterwards."""

import time
from decimal import Decimal

import pytest

from tests.factories import CampaignFactory, CardKindFactory, make_cards, qualified_invitation
from tests.processes import run_workers, scalar

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def test_a_terms_change_racing_grants_pays_each_grant_wholly_on_the_old_or_the_new_terms():
    campaign = CampaignFactory(points=200)
    jd50 = CardKindFactory(code="JD50", name="JD 50", face_value=Decimal("50.00"))
    make_cards(campaign.card_kind, 40)
    make_cards(jd50, 40)
    for _ in range(60):
        qualified_invitation(campaign=campaign)

    run_workers(
        "tests.rewards.workers.grant_or_change_terms",
        [(seed, campaign.pk, jd50.pk) for seed in range(4)],
        timeout=180,
    )

    terms = f"""(g.card_kind_id, g.face_value, g.points, g.cap) IN
        (({campaign.card_kind_id}, 20.00, 200, 10), ({jd50.pk}, 50.00, 500, 10))"""
    assert scalar(f"SELECT count(*) FROM rewards_grant g WHERE NOT {terms}") == 0
    # every card is of the grant's kind, every qualified invitation granted (or over the cap)
    assert (
        scalar(
            """SELECT count(*) FROM rewards_grant g JOIN cardpool_card c ON c.id = g.card_id
           WHERE c.kind_id <> g.card_kind_id"""
        )
        == 0
    )
    assert (
        scalar(
            """SELECT count(*) FROM invitations_invitation i WHERE i.status = 'qualified'
           AND NOT EXISTS (SELECT 1 FROM rewards_grant g WHERE g.invitation_id = i.id)
           AND NOT EXISTS (SELECT 1 FROM rewards_unrewardedinvitation u
                           WHERE u.invitation_id = i.id)"""
        )
        == 0
    )
    assert (
        scalar("SELECT count(*) FROM invitations_campaignevent WHERE action = 'terms_changed'") == 1
    )


def test_moving_campaigns_onto_a_kind_racing_its_switch_off_never_leaves_one_on_a_kind_off():
    campaigns = [CampaignFactory() for _ in range(3)]
    kinds = [
        CardKindFactory(code=f"K{index}", name="k", face_value=Decimal("10.00"))
        for index in range(12)
    ]
    start = time.time() + 8  # after every worker has set Django up

    results = run_workers(
        "tests.rewards.workers.move_or_switch_off",
        [(seed, start, [c.pk for c in campaigns], [k.pk for k in kinds]) for seed in range(4)],
        timeout=180,
    )

    assert sum(done + refused for done, refused in results) == 4 * len(kinds)
    assert (
        scalar(
            """SELECT count(*) FROM invitations_campaign c JOIN cardpool_cardkind k
           ON k.id = c.card_kind_id WHERE NOT k.is_active AND c.ends_at > now()"""
        )
        == 0
    )
