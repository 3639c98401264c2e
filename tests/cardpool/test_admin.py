from contextlib import contextmanager
from unittest.mock import patch

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _

from cardpool.models import Card, CardBatch, CardEvent, CardUpload
from cardpool.services import import_cards
from cardpool.services.importing import BAD_DATE, MISSING_VALUE, RowError
from cardpool.tasks import import_upload_task, validate_upload_task
from tests.cardpool.files import csv_bytes, good_rows, valid_date

pytestmark = pytest.mark.django_db


@pytest.fixture
def card_manager(client):
    user = User.objects.create_user("manager", password="x", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="cardpool",
            codename__in=[
                "view_card",
                "change_card",
                "add_card",
                "view_cardbatch",
                "view_cardkind",
            ],
        )
    )
    client.force_login(user)
    return user


def import_rows(kind, rows):
    import_cards(kind=kind, file_name="a.csv", content=csv_bytes(rows))
    return Card.objects.order_by("pk")


def test_card_list_and_page_never_show_number_or_password(client, card_manager, card_kind):
    [card] = import_rows(card_kind, [["JD11112222", "TOPSECRET1", valid_date()]])
    for url in (
        reverse("admin:cardpool_card_changelist"),
        reverse("admin:cardpool_card_change", args=[card.pk]),
    ):
        page = client.get(url).content.decode()
        assert "••••2222" in page
        assert "JD11112222" not in page and "TOPSECRET1" not in page
        assert card.password_encrypted not in page


def test_reveal_needs_its_permission_and_is_recorded(client, card_manager, card_kind):
    [card] = import_rows(card_kind, [["JD11112222", "TOPSECRET1", valid_date()]])
    url = reverse("admin:cardpool_card_reveal", args=[card.pk])

    assert client.post(url).status_code == 403
    assert not CardEvent.objects.filter(action="revealed").exists()

    card_manager.user_permissions.add(Permission.objects.get(codename="reveal_card_secret"))
    response = client.post(url)
    assert response.status_code == 200
    assert "TOPSECRET1" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = CardEvent.objects.get(action="revealed")
    assert (event.card, event.actor) == (card, card_manager)


def upload_file(client, kind, name: str, content: bytes, **fields) -> CardUpload:
    """Post a file as a manager does; the check is queued for after the commit."""
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    with captured_tasks() as queued:
        response = client.post(
            reverse("admin:cardpool_cardbatch_import"), {"kind": kind.pk, "file": file, **fields}
        )
    upload = CardUpload.objects.latest("pk")
    assert response.status_code == 302
    assert response.url == reverse("admin:cardpool_cardupload_change", args=[upload.pk])
    assert queued == [("validate_upload_task", upload.pk)]
    return upload


@contextmanager
def captured_tasks():
    """The background tasks a request queued (run after its commit), instead of queued."""
    queued = []
    with (
        patch(
            "cardpool.tasks.async_task",
            lambda func, *args, **_: queued.append((func.__name__, *args)),
        ),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        yield queued


def test_upload_check_then_confirm_imports_all_rows(client, card_manager, card_kind):
    upload = upload_file(client, card_kind, "april.csv", csv_bytes(good_rows(3)), supplier="ACME")
    page_url = reverse("admin:cardpool_cardupload_change", args=[upload.pk])
    waiting = client.get(page_url).content.decode()
    assert 'id="upload-progress"' in waiting and str(CardUpload.Status.UPLOADED.label) in waiting

    validate_upload_task(upload.pk)
    checked = client.get(page_url).content.decode()
    assert _("Import all %(n)s cards") % {"n": 3} in checked
    assert "PW-000001" not in checked and "JD0000000001" not in checked and "••••0001" in checked
    assert Card.objects.count() == 0

    confirm_url = reverse("admin:cardpool_cardupload_confirm", args=[upload.pk])
    with captured_tasks() as queued:
        assert client.post(confirm_url).status_code == 302
    assert queued == [("import_upload_task", upload.pk)]
    with captured_tasks() as queued_again:  # a second click, or a second manager
        client.post(confirm_url)
    assert queued_again == []

    import_upload_task(upload.pk)
    batch = CardBatch.objects.get()
    assert (batch.row_count, batch.supplier, batch.imported_by) == (3, "ACME", card_manager)
    done = client.get(page_url).content.decode()
    assert reverse("admin:cardpool_cardbatch_change", args=[batch.pk]) in done
    assert client.get(reverse("admin:cardpool_cardupload_state", args=[upload.pk])).json() == {
        "status": "imported",
        "status_label": str(CardUpload.Status.IMPORTED.label),
        "rows": 3,
        "percent": 100,
    }


def test_a_bad_upload_shows_every_problem_and_offers_no_import(client, card_manager, card_kind):
    rows = [["GOOD000001", "p", valid_date()], ["", "p", valid_date()], ["X0000003", "p", "nope"]]
    upload = upload_file(client, card_kind, "bad.csv", csv_bytes(rows))
    validate_upload_task(upload.pk)
    page = client.get(reverse("admin:cardpool_cardupload_change", args=[upload.pk]))
    text = page.content.decode()
    assert str(RowError(3, MISSING_VALUE.format(column="card_no"))) in text
    assert escape(str(RowError(4, BAD_DATE.format(value="nope")))) in text
    assert 'id="confirm-import"' not in text
    assert Card.objects.count() == 0


def test_the_upload_form_refuses_a_formula_as_supplier_and_keeps_the_input(
    client, card_manager, card_kind
):
    file = SimpleUploadedFile("a.csv", csv_bytes(good_rows(1)), content_type="text/csv")
    page = client.post(
        reverse("admin:cardpool_cardbatch_import"),
        {"kind": card_kind.pk, "file": file, "supplier": "=HYPERLINK(1)"},
    )
    assert page.status_code == 200 and not CardUpload.objects.exists()
    assert escape(_("A supplier name cannot start with = + - or @.")) in page.content.decode()
    assert 'value="=HYPERLINK(1)"' in page.content.decode()


def test_void_action_asks_for_a_reason_then_voids(client, card_manager, card_kind):
    cards = import_rows(card_kind, good_rows(2))
    url = reverse("admin:cardpool_card_changelist")
    selected = {"action": "void_selected", "_selected_action": [c.pk for c in cards]}

    ask = client.post(url, selected)
    assert ask.status_code == 200 and "reason" in ask.content.decode()
    assert Card.objects.filter(status="void").count() == 0

    done = client.post(url, {**selected, "apply": "1", "reason": "supplier recall"})
    assert done.status_code == 302
    assert Card.objects.filter(status="void").count() == 2
    assert set(CardEvent.objects.values_list("reason", flat=True)) == {"supplier recall"}


def test_no_one_edits_a_card_in_a_form(client, card_manager, card_kind):
    [card] = import_rows(card_kind, good_rows(1))
    page = client.get(reverse("admin:cardpool_card_change", args=[card.pk])).content.decode()
    assert 'name="status"' not in page
    response = client.post(
        reverse("admin:cardpool_card_change", args=[card.pk]), {"status": "available"}
    )
    assert response.status_code == 403


def test_the_card_list_does_not_query_per_row(
    client, card_manager, card_kind, django_assert_max_num_queries
):
    from tests.factories import make_cards

    make_cards(card_kind, 60)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("admin:cardpool_card_changelist")).status_code == 200


def test_a_search_by_card_number_goes_by_post_and_finds_it_written_any_way(
    client, card_manager, card_kind
):
    import_rows(card_kind, [["JD-1111-2222", "p", valid_date()], ["JD33334444", "p", valid_date()]])
    found = client.post(reverse("admin:cardpool_card_private_search"), {"term": "jd 1111 2222"})
    assert "1111" not in found.url and "2222" not in found.url
    with CaptureQueriesContext(connection) as queries:
        page = client.get(found.url).content.decode()
    assert "••••2222" in page and "••••4444" not in page
    # an exact match on the digest, which its unique index serves (iexact wraps both in UPPER)
    searches = [query["sql"] for query in queries if 'number_digest" =' in query["sql"]]
    assert searches and not any("UPPER" in sql for sql in searches)
