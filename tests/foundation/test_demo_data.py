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
