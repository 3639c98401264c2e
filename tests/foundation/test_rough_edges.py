"""What a newcomer met around the demo (#31, item 8): an icon for every page, the demo's
restart message, gunicorn's control socket."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from cardpool.models import CardKind
from cardpool.services import import_cards
from operations.management.commands.seed_demo import RESTOCK_FILE
from tests.processes import ROOT

pytestmark = pytest.mark.django_db


def test_every_page_names_its_icon_and_the_browsers_default_ask_is_answered(client, admin_client):
    icon = 'rel="icon"'
    assert icon in client.get(reverse("login")).content.decode()
    assert icon in admin_client.get(reverse("admin:index")).content.decode()
    asked = client.get("/favicon.ico")
    assert asked.status_code == 301 and asked.url.endswith("site/favicon.svg")


def test_the_demo_restarted_after_the_restock_does_not_ask_to_import_it_again(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    first = StringIO()
    call_command("seed_demo", stdout=first)
    assert "导入卡密文件" in first.getvalue() and RESTOCK_FILE in first.getvalue()
    restock = (Path(tmp_path) / RESTOCK_FILE).read_bytes()
    import_cards(kind=CardKind.objects.get(code="JD20"), file_name=RESTOCK_FILE, content=restock)

    again = StringIO()
    call_command("seed_demo", stdout=again)

    assert "imported already" in again.getvalue() and "导入卡密文件" not in again.getvalue()


def test_gunicorn_makes_no_control_socket_outside_the_checkout():
    settings = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), settings)  # noqa: S102  (our own file)
    assert settings["control_socket_disable"] is True


def test_the_card_batches_list_offers_the_import_by_its_name(admin_client):
    page = admin_client.get(reverse("admin:cardpool_cardbatch_changelist")).content.decode()
    assert "导入卡密文件" in page and reverse("admin:cardpool_cardbatch_import") in page
