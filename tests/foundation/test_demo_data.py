import json

import pytest
from django.core.management import call_command

from cardpool.models import Card
from invitations.models import Campaign, Customer, Invitation


@pytest.mark.django_db
def test_demo_data_loads_twice_without_doubling(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)
    assert Campaign.objects.count() == 1
    assert Customer.objects.count() == 1
    assert Invitation.objects.count() == 8
    assert Card.objects.count() == 65
    accounts = json.loads((tmp_path / "demo-accounts.json").read_text())
    assert {account["channel"] for account in accounts} >= {
        "app",
        "h5",
        "wechat",
        "one_click",
        "branch",
    }


@pytest.mark.django_db
def test_the_demo_promises_five_rewards_and_its_accounts_keep_the_promise(settings, tmp_path):
    from datetime import datetime

    from account_opening.client import AccountStatus
    from invitations.services.polling import Outcome, decide

    settings.DATA_DIR = tmp_path
    call_command("seed_demo", verbosity=0)
    accounts = json.loads((tmp_path / "demo-accounts.json").read_text())
    outcomes = []
    for account in accounts:
        invitation = Invitation.objects.get(invitee_phone=account["phone"])
        opened_at = datetime.fromisoformat(account["opened_at"])
        answer = AccountStatus(
            account["phone"], True, account["account_id"], opened_at, account["channel"]
        )
        # asked once the account exists (the simulator hides it until then)
        outcomes.append(decide(invitation, answer, max(opened_at, invitation.invited_at)).outcome)
    assert outcomes.count(Outcome.QUALIFIED) == 5 and outcomes.count(Outcome.INELIGIBLE) == 1
