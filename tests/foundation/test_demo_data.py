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
    assert Card.objects.count() == 302
    accounts = json.loads((tmp_path / "demo-accounts.json").read_text())
    assert {account["channel"] for account in accounts} >= {
        "app",
        "h5",
        "wechat",
        "one_click",
        "branch",
    }


def answer_of(account: dict):
    """What the simulator answers for one of the demo's accounts, as the client parses it."""
    from account_opening.client import parse_reply

    return parse_reply(account["phone"], {**account, "opened": True})


@pytest.mark.django_db
def test_the_demo_promises_four_rewards_and_its_accounts_keep_the_promise(settings, tmp_path):
    from datetime import datetime

    from invitations.services.polling import Outcome, decide

    settings.DATA_DIR = tmp_path
    call_command("seed_demo", verbosity=0)
    accounts = json.loads((tmp_path / "demo-accounts.json").read_text())
    outcomes = []
    for account in accounts:
        invitation = Invitation.objects.get(invitee_phone=account["phone"])
        opened_at = datetime.fromisoformat(account["opened_at"])
        answer = answer_of(account)
        # asked once the account exists (the simulator hides it until then)
        outcomes.append(decide(invitation, answer, max(opened_at, invitation.invited_at)).outcome)
    assert outcomes.count(Outcome.QUALIFIED) == 4 and outcomes.count(Outcome.INELIGIBLE) == 1
    assert outcomes.count(Outcome.AWAITING_DEPOSIT) == 1  # opened, no deposit yet


@pytest.mark.django_db
def test_the_demo_runs_out_of_stock_and_its_restock_file_issues_the_waiting_rewards(
    settings, tmp_path
):
    """The story the README tells: five friends open accounts, four deposit, one of them held
    for a fraud signal, two cards for the other three, so one reward waits and the stock-out is
    an anomaly; importing the restock file issues it."""
    from datetime import datetime

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
        answer = answer_of(account)
        decision = decide(invitation, answer, max(opened_at, invitation.invited_at))
        if decision.outcome == Outcome.QUALIFIED:
            Invitation.objects.filter(pk=invitation.pk).update(**decision.changes)
            invitation.refresh_from_db()
            grant_reward(invitation)
    inviters = Grant.objects.filter(side="inviter")
    assert inviters.filter(status="issued").count() == 2
    assert inviters.filter(status="pending_stock").count() == 1
    # the fourth friend proved their number from the customer's own phone: both sides held
    held = Grant.objects.filter(status="held")
    assert held.count() == 2 and {grant.side for grant in held} == {"inviter", "friend"}
    assert all("inviter's own device" in grant.hold_reason for grant in held)
    # every other friend who opened and deposited has their own JD50 card, on their own customer
    friends = Grant.objects.filter(side="friend", status="issued", card_kind__code="JD50")
    assert friends.count() == 3 and len({grant.inviter_id for grant in friends}) == 3
    kind = CardKind.objects.get(code="JD20")
    # raised by the grant that found no card (and by the rules' next run)
    assert Anomaly.objects.filter(
        status="open", kind=AnomalyRule.OUT_OF_STOCK, subject=f"cardkind:{kind.pk}"
    ).exists()

    restock = (tmp_path / RESTOCK_FILE).read_bytes()
    import_cards(kind=kind, file_name=RESTOCK_FILE, content=restock)
    assert fulfil_pending_grants() == 1
    assert inviters.filter(status="issued").count() == 3


@pytest.mark.django_db(transaction=True)
def test_what_the_readme_promises_is_what_the_first_poll_cycle_shows(settings, tmp_path, upstream):
    """The demo's numbers through the real pipeline: the poll task asking the simulator over
    HTTP, then the fulfilment task after the restock. The story is moved ten minutes into the
    past (invitations and openings alike), so the openings the demo spreads over its first
    minutes have all happened by the first cycle."""
    from datetime import datetime, timedelta

    from django.db.models import F

    from cardpool.models import CardKind
    from cardpool.services import import_cards
    from invitations.tasks import poll_invitations
    from operations.management.commands.seed_demo import RESTOCK_FILE
    from rewards.models import Anomaly, AnomalyRule, Grant
    from rewards.tasks import fulfil_pending_grants

    settings.DATA_DIR = tmp_path
    call_command("seed_demo", verbosity=0)
    earlier = timedelta(minutes=10)
    Invitation.objects.update(invited_at=F("invited_at") - earlier)
    accounts = json.loads((tmp_path / "demo-accounts.json").read_text())
    for account in accounts:
        for name in ("opened_at", "first_deposit_at"):
            if name in account:
                account[name] = (datetime.fromisoformat(account[name]) - earlier).isoformat()
    upstream.add_accounts(accounts)

    # when the first poll cycle runs
    cycle = poll_invitations()
    assert (cycle["qualified"], cycle["awaiting_deposit"]) == (4, 1)

    # then: five friends opened accounts (five channels), four deposited 1,000 yuan or more and
    # qualify, the fifth waits for their deposit; one was already a customer, two wait
    statuses = sorted(Invitation.objects.values_list("status", flat=True))
    assert statuses == ["ineligible_existing_customer"] + ["pending"] * 3 + ["qualified"] * 4
    assert Invitation.objects.filter(status="pending", account_opened_at__isnull=False).count() == 1
    assert len({account["channel"] for account in accounts[:5]}) == 5
    # two rewarded with a card and 200 points at once, one waiting for JD20 stock, one held
    # for a fraud signal (with its friend's); each of the three others a JD50 card of their own
    inviters = Grant.objects.filter(side="inviter")
    issued = inviters.filter(status="issued")
    assert issued.count() == 2 and {grant.points for grant in issued} == {200}
    assert inviters.filter(status="pending_stock").count() == 1
    assert inviters.filter(status="held").count() == 1
    assert Grant.objects.filter(side="friend", status="issued").count() == 3
    jd20, jd50 = CardKind.objects.get(code="JD20"), CardKind.objects.get(code="JD50")
    assert jd20.cards.filter(status="available").count() == 0
    assert jd50.cards.filter(status="available").count() == 297
    assert Anomaly.objects.filter(
        status="open", kind=AnomalyRule.OUT_OF_STOCK, subject=f"cardkind:{jd20.pk}"
    ).exists()

    # and the restock file, imported, issues the waiting reward right after its commit
    import_cards(kind=jd20, file_name=RESTOCK_FILE, content=(tmp_path / RESTOCK_FILE).read_bytes())
    assert inviters.filter(status="issued").count() == 3
    assert fulfil_pending_grants() == 0  # nothing left for the schedule
