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
    assert Card.objects.count() == 303
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


@pytest.mark.django_db
def test_the_demo_runs_out_of_stock_and_its_restock_file_issues_the_waiting_rewards(
    settings, tmp_path
):
    """The story the README tells: five friends open accounts, three cards, so two rewards
    wait and the stock-out is an anomaly; importing the restock file issues them."""
    from datetime import datetime

    from account_opening.client import AccountStatus
    from cardpool.models import CardKind
    from cardpool.services import import_cards
    from invitations.services.polling import Outcome, decide
    from operations.management.commands.seed_demo import RESTOCK_FILE
    from rewards.models import Anomaly, AnomalyRule, Grant
    from rewards.services import fulfil_pending_grants, grant_reward

    settings.DATA_DIR = tmp_path
    call_command("seed_demo", verbosity=0)
    for account in json.loads((tmp_path / "demo-accounts.json").read_text()):
        invitation = Invitation.objects.get(invitee_phone=account["phone"])
        opened_at = datetime.fromisoformat(account["opened_at"])
        answer = AccountStatus(
            account["phone"], True, account["account_id"], opened_at, account["channel"]
        )
        decision = decide(invitation, answer, max(opened_at, invitation.invited_at))
        if decision.outcome == Outcome.QUALIFIED:
            Invitation.objects.filter(pk=invitation.pk).update(**decision.changes)
            invitation.refresh_from_db()
            grant_reward(invitation)
    assert Grant.objects.filter(status="issued").count() == 3
    assert Grant.objects.filter(status="pending_stock").count() == 2
    kind = CardKind.objects.get(code="JD20")
    # raised by the grant that found no card (and by the rules' next run)
    assert Anomaly.objects.filter(
        status="open", kind=AnomalyRule.OUT_OF_STOCK, subject=f"cardkind:{kind.pk}"
    ).exists()

    restock = (tmp_path / RESTOCK_FILE).read_bytes()
    import_cards(kind=kind, file_name=RESTOCK_FILE, content=restock)
    assert fulfil_pending_grants() == 2
    assert Grant.objects.filter(status="issued").count() == 5
