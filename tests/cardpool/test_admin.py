import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _

from cardpool.models import Card, CardBatch, CardEvent
from cardpool.services import import_cards
from cardpool.services.importing import BAD_DATE, MISSING_VALUE, RowError
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


def test_exact_search_by_card_number(client, card_manager, card_kind):
    import_rows(card_kind, [["JD11112222", "p", valid_date()], ["JD33334444", "p", valid_date()]])
    page = client.get(
        reverse("admin:cardpool_card_changelist"), {"q": "jd 3333 4444"}
    ).content.decode()
    assert "••••4444" in page and "••••2222" not in page


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


def test_upload_preview_then_confirm_imports_all_rows(client, card_manager, card_kind):
    url = reverse("admin:cardpool_cardbatch_import")
    upload = SimpleUploadedFile("april.csv", csv_bytes(good_rows(3)), content_type="text/csv")
    preview = client.post(url, {"kind": card_kind.pk, "supplier": "ACME", "file": upload})
    assert preview.status_code == 200
    assert _("Import all %(n)s cards") % {"n": 3} in preview.content.decode()
    assert "PW-000001" not in preview.content.decode()
    assert Card.objects.count() == 0

    confirm = client.post(
        url,
        {
            "step": "confirm",
            "token": preview.context["token"],
            "kind": card_kind.pk,
            "file_name": "april.csv",
            "supplier": "ACME",
        },
    )
    batch = CardBatch.objects.get()
    assert confirm.status_code == 302 and confirm.url.endswith(f"/{batch.pk}/change/")
    assert (batch.row_count, batch.supplier, batch.imported_by) == (3, "ACME", card_manager)


def test_a_bad_upload_shows_every_problem_and_offers_no_import(client, card_manager, card_kind):
    rows = [["GOOD000001", "p", valid_date()], ["", "p", valid_date()], ["X0000003", "p", "nope"]]
    upload = SimpleUploadedFile("bad.csv", csv_bytes(rows), content_type="text/csv")
    page = client.post(
        reverse("admin:cardpool_cardbatch_import"), {"kind": card_kind.pk, "file": upload}
    ).content.decode()
    assert str(RowError(3, MISSING_VALUE.format(column="card_no"))) in page
    assert escape(str(RowError(4, BAD_DATE.format(value="nope")))) in page
    assert 'name="step" value="confirm"' not in page
    assert Card.objects.count() == 0


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
