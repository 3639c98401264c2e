"""Migration invitations 0014: an account that qualified invitations in several campaigns (the
rule was once per campaign) keeps the first to qualify; the others are recorded as rejected,
with the reason and an event; their grants stay for a person, and reconciliation names the
account until the extra one is voided."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from invitations.models import Invitation, InvitationEvent
from rewards.models import Grant
from rewards.services import void_grant
from rewards.services.reconciliation import reconcile
from tests.migrations import historical_model, migrate, old_campaign, old_customer

BEFORE = [("invitations", "0013_phones_are_ascii")]
_phones = iter(range(15900000000, 15999999999))


def qualified_before(campaign, account_id: str, decided_at=None):
    """A qualified invitation as the code before the migration wrote it (today's model would
    name columns added since)."""
    now = timezone.now()
    return historical_model("invitations", "Invitation", BEFORE).objects.create(
        campaign_id=campaign.pk,
        inviter_id=old_customer(BEFORE).pk,
        invitee_phone=str(next(_phones)),
        status="qualified",
        external_account_id=account_id,
        account_opened_at=now + timedelta(seconds=1),
        decided_at=decided_at or now,
        qualify_by=now + timedelta(days=30),
        next_check_at=now,
    )


pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("latest_migrations_after"),
]


def granted_before(invitation) -> int:
    """A grant waiting for stock, written directly as the schema before the migration holds it:
    today's grant path reads campaign columns it does not have, and going back before
    invitations 0014 takes the grants' later columns too."""
    from cardpool.models import CardKind
    from rewards.numbers import next_grant_no

    campaign = historical_model("invitations", "Campaign", BEFORE).objects.get(
        pk=invitation.campaign_id
    )
    kind = CardKind.objects.get(pk=campaign.card_kind_id)
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO rewards_grant (grant_no, invitation_id, inviter_id, campaign_id,
                   card_kind_id, face_value, points, cap, status, origin, hold_reason,
                   created_at, void_reason)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'pending_stock', 'automatic', '', now(),
                       '')
               RETURNING id""",
            [
                next_grant_no(),
                invitation.pk,
                invitation.inviter_id,
                campaign.pk,
                kind.pk,
                kind.face_value,
                campaign.points,
                campaign.max_rewards_per_inviter,
            ],
        )
        return cursor.fetchone()[0]


def test_later_qualifications_of_an_account_are_rejected_and_their_grants_named(admin_user):
    migrate(BEFORE)
    first_campaign, second_campaign = old_campaign(BEFORE), old_campaign(BEFORE, "second")
    now = timezone.now()
    first = qualified_before(first_campaign, "SAME", decided_at=now - timedelta(hours=1))
    later = qualified_before(second_campaign, "SAME", decided_at=now)
    other = qualified_before(second_campaign, "OTHER")
    paid_twice_id = granted_before(later)
    granted_before(first)

    migrate()
    paid_twice = Grant.objects.get(pk=paid_twice_id)

    statuses = dict(Invitation.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "qualified", later.pk: "rejected", other.pk: "qualified"}
    later = Invitation.objects.get(pk=later.pk)
    assert later.rejection_reason == f"account SAME was already counted for invitation #{first.pk}"
    [event] = InvitationEvent.objects.filter(invitation=later)
    assert (event.action, event.actor_label) == ("rejected", "migration invitations 0014")
    run = reconcile()
    assert [breach["subject"] for breach in run.report["breaches"]] == ["account:SAME"]

    void_grant(paid_twice, reason="paid twice: one account in two campaigns", actor=admin_user)
    assert reconcile().is_ok
