"""Invariant 11: the points ledger and every event table refuse UPDATE and DELETE in the
database, whoever sends the statement."""

import pytest
from django.db import IntegrityError, connection, transaction

from core.models import append_only_tables
from invitations.models import InvitationEvent
from invitations.services.campaigns import set_campaign_paused, set_customer_flagged
from notifications.models import Message
from notifications.services import retry_message
from operations.models import DataRequest
from rewards.models import Anomaly
from rewards.services import grant_reward
from rewards.services.anomalies import review_anomaly
from rewards.services.card_kinds import switch_kind
from signin.models import SignInEvent
from tests.factories import CampaignFactory, CardKindFactory, make_cards, qualified_invitation

pytestmark = pytest.mark.django_db

# Derived from the one list (every event model, and the ledger): a new event table is tried here
# without anyone adding it, and fails until its migration adds the trigger.
TABLES = append_only_tables()


@pytest.fixture
def history():
    """A rewarded invitation (ledger entry, grant, card and invitation events), a paused
    campaign, a flagged inviter and a card kind switched off."""
    campaign = CampaignFactory(points=10)
    make_cards(campaign.card_kind, 1)
    grant = grant_reward(qualified_invitation(campaign=campaign))
    set_campaign_paused(campaign, is_paused=True, reason="review")
    set_customer_flagged(grant.inviter, is_flagged=True, reason="review")
    InvitationEvent.objects.create(invitation=grant.invitation, action="qualified")
    anomaly = Anomaly.objects.create(kind="low_stock", subject="s", severity="warning", message="m")
    review_anomaly(anomaly, status="acknowledged", note="looking", actor=None)
    switch_kind(CardKindFactory(code="OLD"), is_active=False, reason="discontinued", actor=None)
    message = Message.objects.get(recipient=grant.inviter.user)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.DEAD)
    retry_message(message, reason="gateway fixed", actor=None)
    SignInEvent.record("phone_mismatch", issuer="app", subject="C1", actor_label="app hand-off")
    DataRequest.record("export", phone_digest="x", phone_masked="*", reason="asked", summary={})


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize(
    "statement", ["UPDATE {table} SET created_at = created_at", "DELETE FROM {table}"]
)
def test_history_cannot_be_rewritten_even_by_hand_written_sql(history, table, statement):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        [(before,)] = cursor.fetchall()
        assert before >= 1
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            cursor.execute(statement.format(table=table))
        cursor.execute(f"SELECT count(*) FROM {table}")
        assert cursor.fetchall() == [(before,)]
