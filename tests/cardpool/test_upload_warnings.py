"""The import check warns of two mistakes a person makes (#31, item 4): cards valid for less
than the allocation horizon (none will ever be handed out), and number and password columns
swapped (seen against the kind's earlier batches). The password sample shows enough of its
shape for a swap to be seen. Through the upload's page, as a card manager reads it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cardpool.services import import_cards, receive_upload, validate_upload
from tests.cardpool.files import csv_bytes

pytestmark = pytest.mark.django_db


def rows(count: int, *, days: int = 365, swapped: bool = False, start: int = 0) -> list[list]:
    until = (timezone.localdate() + timedelta(days=days)).isoformat()
    made = []
    for index in range(start, start + count):
        number, password = f"8888{index:012d}", f"Kq{index:06d}xZ"  # 16 digits; 10 mixed
        made.append([password, number, until] if swapped else [number, password, until])
    return made


def checked(kind, content: bytes, name: str):
    return validate_upload(receive_upload(kind=kind, file_name=name, chunks=[content]).pk)


def page(client, upload) -> str:
    url = reverse("admin:cardpool_cardupload_change", args=[upload.pk])
    return client.get(url).content.decode()


def test_cards_that_can_never_be_handed_out_are_warned_with_their_share(
    admin_client, card_kind, settings
):
    settings.CARD_MIN_VALIDITY_DAYS = 30
    content = csv_bytes(rows(3, days=10) + rows(1, days=365, start=3))

    upload = checked(card_kind, content, "short.csv")

    assert upload.status == "validated"
    text = page(admin_client, upload)
    assert "4 张卡中有 3 张（75%）" in text and "永远不会被发放" in text
    assert "未发现问题" not in text


def test_swapped_columns_are_warned_against_the_kinds_earlier_batch(admin_client, card_kind):
    import_cards(kind=card_kind, file_name="first.csv", content=csv_bytes(rows(5)))

    normal = checked(card_kind, csv_bytes(rows(5, start=10)), "normal.csv")
    swapped = checked(card_kind, csv_bytes(rows(5, start=20, swapped=True)), "swapped.csv")

    assert normal.warnings == []
    text = page(admin_client, swapped)
    assert "列是否颠倒" in text
    assert "16 个字符：数字" in text  # the earlier numbers' shape, now in the password column


def test_the_password_sample_shows_its_shape_not_the_password(admin_client, card_kind):
    upload = checked(card_kind, csv_bytes(rows(2)), "cards.csv")

    text = page(admin_client, upload)

    assert "K••••••••Z" in text and "10 个字符：数字、字母" in text
    assert "Kq000000xZ" not in text and "Kq000001xZ" not in text
