"""The ladder and the friend's side under concurrency (#32): processes with their own
connections grant the same invitations at once, one by one and in batches; counted in SQL
afterwards."""

from decimal import Decimal

import pytest

from invitations import ladder
from tests.factories import (
    CampaignFactory,
    CardKindFactory,
    CustomerFactory,
    make_cards,
    qualified_invitation,
)
from tests.processes import run_workers, scalar

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def test_friends_qualifying_at_once_never_share_a_step_and_each_friend_is_paid_once():
    jd20 = CardKindFactory()
    jd10 = CardKindFactory(code="JD10", name="JD 10", face_value=Decimal("10.00"))
    jd50 = CardKindFactory(code="JD50", name="JD 50", face_value=Decimal("50.00"))
    for kind in (jd20, jd10, jd50):
        make_cards(kind, 120, prefix=kind.code)
    steps = ladder.parse("3 JD50 500\n5 JD10 1000", {"JD50": jd50, "JD10": jd10})
    campaigns = [
        CampaignFactory(
            card_kind=jd20,
            points=100,
            ladder=steps,
            friend_card_kind=jd10,
            friend_points=30,
            max_rewards_per_inviter=20,
        )
        for _ in range(2)
    ]
    # three inviters with eight friends each in both campaigns; the same friends in both, so
    # two processes may make one friend's customer at the same moment
    phones = [f"1590000{n:04d}" for n in range(24)]
    for campaign in campaigns:
        inviters = [CustomerFactory() for _ in range(3)]
        for n, phone in enumerate(phones):
            qualified_invitation(campaign=campaign, inviter=inviters[n % 3], invitee_phone=phone)

    run_workers(
        "tests.rewards.workers.grant_all_qualified",
        [(seed, "both") for seed in range(4)],
        timeout=180,
    )

    inviters = "FROM rewards_grant WHERE side = 'inviter'"
    # every place of every inviter taken once, from 1 up, on its step's terms
    assert scalar(f"SELECT count(*) {inviters}") == 48
    assert scalar(f"SELECT count(DISTINCT (inviter_id, campaign_id, place)) {inviters}") == 48
    assert scalar(f"SELECT count(*) {inviters} AND place NOT BETWEEN 1 AND 8") == 0
    wrong = f"""SELECT count(*) {inviters} AND (card_kind_id, points) <> (CASE
        WHEN place >= 5 THEN {jd10.pk} WHEN place >= 3 THEN {jd50.pk} ELSE {jd20.pk} END,
        CASE WHEN place >= 5 THEN 1000 WHEN place >= 3 THEN 500 ELSE 100 END)"""
    assert scalar(wrong) == 0
    # each friend paid once per campaign, as the one customer of their phone
    assert scalar("SELECT count(*) FROM rewards_grant WHERE side = 'friend'") == 48
    assert (
        scalar(
            """SELECT count(*) FROM invitations_invitation i WHERE (
               SELECT count(*) FROM rewards_grant g JOIN invitations_customer c
               ON c.id = g.inviter_id WHERE g.invitation_id = i.id AND g.side = 'friend'
               AND c.phone = i.invitee_phone) <> 1"""
        )
        == 0
    )
    assert scalar("SELECT count(*) FROM invitations_customer WHERE phone = ANY(%s)", [phones]) == 24
    assert scalar("SELECT count(*) - count(DISTINCT card_id) FROM rewards_grant") == 0
