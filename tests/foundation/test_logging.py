"""No card password, full card number or full phone number in any log line, whatever logs it
(our code, Django, urllib3 at DEBUG): a whole pipeline runs with DEBUG logging and everything
it logged is scanned."""

import io
import json
import logging

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from cardpool.services import import_cards, reveal_card_secret
from core.logging import Context, JsonFormatter
from invitations.models import Invitation
from invitations.services import create_invitation, poll_invitations
from rewards.models import Grant
from rewards.services import report_card_problem, reveal_grant_card
from tests.cardpool.files import csv_bytes, valid_date
from tests.factories import CampaignFactory, CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the poller refuses to run in one

INVITER, INVITEE = "13800001111", "15900002222"
NUMBER, PASSWORD = "JD77770000111", "PW-SECRET-9931"


@pytest.fixture
def logged():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(Context())
    handler.setFormatter(JsonFormatter())
    root, sql = logging.getLogger(), logging.getLogger("django.db.backends")
    levels = root.level, sql.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    sql.setLevel(logging.DEBUG)
    connection.force_debug_cursor = True  # every SQL statement and its parameters, logged
    yield stream
    connection.force_debug_cursor = False
    root.removeHandler(handler)
    root.setLevel(levels[0])
    sql.setLevel(levels[1])


def test_a_whole_pipeline_logged_at_debug_leaks_no_secret_and_no_phone(logged, upstream):
    campaign = CampaignFactory(max_rewards_per_inviter=5)
    import_cards(
        kind=campaign.card_kind,
        file_name="cards.csv",
        content=csv_bytes([[NUMBER, PASSWORD, valid_date()]]),
    )
    inviter = CustomerFactory(phone=INVITER)
    inviter.user.username = INVITER
    inviter.user.save()
    invitation = create_invitation(inviter, INVITEE)
    upstream.add_accounts(
        [{"phone": INVITEE, "account_id": "ACC-L", "channel": "app", "opened_at": None}]
    )
    Invitation.objects.filter(pk=invitation.pk).update(next_check_at=invitation.invited_at)
    poll_invitations()
    grant = Grant.objects.get(invitation=invitation)
    assert reveal_grant_card(grant, inviter) == (NUMBER, PASSWORD)
    report_card_problem(grant, inviter, "it says used")
    admin = User.objects.create_superuser("boss", "b@example.com", "x")
    reveal_card_secret(grant.card, actor=admin)
    client = Client()
    client.force_login(inviter.user)
    client.post(f"/me/grants/{grant.grant_no}/card")
    client.get(f"/me/?q={INVITEE}")

    lines = logged.getvalue().splitlines()
    assert len(lines) > 100  # DEBUG really was on: SQL with its parameters, HTTP
    for line in lines:
        entry = json.loads(line)
        text = line
        for secret in (NUMBER, PASSWORD, INVITER, INVITEE):
            assert secret not in text, (secret, entry["logger"], entry["message"][:200])
    entries = [json.loads(line) for line in lines]
    # the customer's requests' lines carry their request id
    assert any(entry["request_id"] != "-" for entry in entries)
    # and the poller's lines the invitation they are about (here the upstream lookup)
    lookups = [entry for entry in entries if "GET /v1/accounts" in entry["message"]]
    assert lookups and all(entry.get("invitation") == invitation.pk for entry in lookups)
