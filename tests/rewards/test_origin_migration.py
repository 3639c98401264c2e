"""Migrations rewards 0013-0014 label who made each existing grant, so that the index on
automatic grants can be built on a database where the old sweep already granted a voided
invitation again; reconciliation then names each such grant."""

import pytest
from django.db import connection

from rewards.models import Grant
from rewards.services import grant_reward, reissue_grant, void_grant
from rewards.services.reconciliation import reconcile
from tests.factories import CampaignFactory, make_cards, qualified_invitation
from tests.migrations import migrate

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("latest_migrations_after"),
]

BEFORE = [("rewards", "0012_customer_page_indexes")]


def test_existing_grants_are_labelled_and_a_grant_made_again_after_a_void_is_a_breach(
    admin_user,
):
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 5)
    plain = grant_reward(qualified_invitation(campaign=campaign))
    reissued = grant_reward(qualified_invitation(campaign=campaign))
    replacement = reissue_grant(reissued, reason="card already activated", actor=admin_user)
    voided = grant_reward(qualified_invitation(campaign=campaign))
    void_grant(voided, reason="fraud", actor=admin_user)
    migrate(BEFORE)
    with connection.cursor() as cursor:  # what the old sweep did next
        cursor.execute(
            """INSERT INTO rewards_grant (grant_no, invitation_id, inviter_id, campaign_id,
                   points, status, hold_reason, created_at, void_reason)
               SELECT 'RG-AGAIN', invitation_id, inviter_id, campaign_id, points,
                      'pending_stock', '', now(), ''
               FROM rewards_grant WHERE id = %s RETURNING id""",
            [voided.pk],
        )
        [(again_id,)] = cursor.fetchall()

    migrate()

    origins = dict(Grant.objects.values_list("pk", "origin"))
    assert origins == {
        plain.pk: "automatic",
        reissued.pk: "automatic",
        replacement.pk: "reissue",
        voided.pk: "automatic",
        again_id: "repeated",
    }
    run = reconcile()
    assert not run.is_ok
    assert [breach["subject"] for breach in run.report["breaches"]] == [f"grant:{again_id}"]
