"""An id in the admin's address written in other digits ("²" passes str.isdigit() but not int(),
"١" and "１" pass int() but not the <int:> routes) is a page that does not exist, never a 500."""

import pytest
from django.urls import reverse

from tests.factories import make_cards

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("object_id", ["\u00b2", "\u0661", "\uff11", "\u0967\u0966"])
@pytest.mark.parametrize("model", ["card", "cardupload"])
def test_an_id_in_other_digits_is_no_page_not_a_server_error(
    admin_client, card_kind, model, object_id
):
    make_cards(card_kind, 2)
    response = admin_client.get(f"/admin/cardpool/{model}/{object_id}/change/")
    assert response.status_code in (200, 302, 404)
    if response.status_code == 302:  # Django's "does not exist", on the admin's index
        assert response.url == reverse("admin:index")
