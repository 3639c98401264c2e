import subprocess
import sys

import pytest
from django.utils import timezone

from cardpool import secrets
from cardpool.exceptions import CardImportRejected
from cardpool.models import Card, CardBatch
from cardpool.services import import_cards, receive_upload, validate_upload
from cardpool.services import importing as messages
from cardpool.services.importing import RowError
from tests.cardpool.files import csv_bytes, good_rows, valid_date, xlsx_bytes
from tests.factories import CardKindFactory
from tests.processes import ROOT, worker_environment

pytestmark = pytest.mark.django_db


def row(number: int, message) -> str:
    return str(RowError(number, message))


def rejected(kind, content: bytes, file_name="cards.csv") -> list[str]:
    """Import and expect a refusal; return the problems; check nothing was written."""
    cards_before, batches_before = Card.objects.count(), CardBatch.objects.count()
    with pytest.raises(CardImportRejected) as refusal:
        import_cards(kind=kind, file_name=file_name, content=content)
    assert (Card.objects.count(), CardBatch.objects.count()) == (cards_before, batches_before)
    return [str(error) for error in refusal.value.errors]


def test_a_good_csv_imports_every_card_encrypted(card_kind, admin_user):
    batch = import_cards(
        kind=card_kind,
        file_name="march.csv",
        content=csv_bytes(good_rows(3)),
        supplier="ACME",
        actor=admin_user,
    )
    assert (batch.row_count, batch.supplier, batch.imported_by) == (3, "ACME", admin_user)
    card = Card.objects.get(number_digest=secrets.number_digest("JD0000000001"))
    assert secrets.decrypt(card.number_encrypted) == "JD0000000001"
    assert secrets.decrypt(card.password_encrypted) == "PW-000001"
    assert (card.number_last4, card.status, card.batch) == ("0001", "available", batch)


def test_utf8_with_bom_gbk_with_chinese_headers_and_xlsx_are_read(card_kind):
    bom = b"\xef\xbb\xbf" + csv_bytes(good_rows(2, "A"))
    gbk = csv_bytes(good_rows(2, "B"), header=("卡号", "卡密", "有效期"), encoding="gbk")
    workbook = xlsx_bytes(good_rows(2, "C"), header=("卡号", "卡密", "有效期"))
    for name, content in (("bom.csv", bom), ("gbk.csv", gbk), ("cards.xlsx", workbook)):
        assert import_cards(kind=card_kind, file_name=name, content=content).row_count == 2
    assert Card.objects.count() == 6
    assert Card.objects.filter(number_digest=secrets.number_digest("C0000000001")).exists()


def test_face_value_column_must_match_the_kind(card_kind):
    header = ("card_no", "card_password", "valid_until", "face_value")
    content = csv_bytes(
        [["X00001", "p1", valid_date(), "20.00"], ["X00002", "p2", valid_date(), "50"]], header
    )
    assert rejected(card_kind, content) == [
        row(3, messages.FACE_VALUE_MISMATCH.format(value="50", kind="JD20", expected="20.00"))
    ]


def test_every_bad_row_is_reported_with_its_row_number(card_kind):
    rows = [
        ["GOOD000001", "p", valid_date()],  # row 2
        ["", "p", valid_date()],  # row 3
        ["GOOD000003", "", valid_date()],  # row 4
        ["GOOD000004", "p", "31/12/2030"],  # row 5
        ["GOOD000005", "p", "2020-01-01"],  # row 6
        ["GOOD 0000 01", "p", valid_date()],  # row 7: the same number as row 2, spaced
        ["BAD*NUMBER", "p", valid_date()],  # row 8
    ]
    assert rejected(card_kind, csv_bytes(rows)) == [
        row(3, messages.MISSING_VALUE.format(column="card_no")),
        row(4, messages.MISSING_VALUE.format(column="card_password")),
        row(5, messages.BAD_DATE.format(value="31/12/2030")),
        row(6, messages.ALREADY_EXPIRED.format(valid_until="2020-01-01")),
        row(7, messages.DUPLICATE_IN_FILE.format(first=2)),
        row(8, messages.BAD_CARD_NUMBER),
    ]


def test_a_card_already_in_the_pool_is_caught_through_the_digest(card_kind):
    import_cards(kind=card_kind, file_name="first.csv", content=csv_bytes(good_rows(2)))
    other_kind = CardKindFactory(code="JD50", face_value=50)
    again = csv_bytes([["NEW0000001", "p", valid_date()], ["jd 0000000001", "p", valid_date()]])
    assert rejected(other_kind, again) == [row(3, messages.DUPLICATE_IN_POOL)]


@pytest.mark.parametrize(
    ("content", "file_name", "problem"),
    [
        (b"", "empty.csv", messages.EMPTY_FILE),
        (b"card_no,card_password,valid_until\r\n\r\n", "header-only.csv", messages.EMPTY_FILE),
        (
            b"number,password,valid_until\r\nX1,p,2031-01-01\r\n",
            "wrong.csv",
            messages.MISSING_COLUMNS.format(missing="card_no, card_password"),
        ),
        (
            b"card_no,card_password,valid_until,colour\r\nX1,p,2031-01-01,red\r\n",
            "extra.csv",
            messages.UNKNOWN_COLUMNS.format(unknown="colour"),
        ),
        (b"\xff\xfe\x00c\x00a\x00r\x00d\xff\xff", "utf16.csv", messages.UNREADABLE_ENCODING),
        (
            b"PK\x03\x04 not really a zip",
            "broken.xlsx",
            messages.NOT_A_WORKBOOK.format(error="BadZipFile"),
        ),
        (b"\xd0\xcf\x11\xe0 old excel", "old.xls", messages.OLD_EXCEL),
    ],
)
def test_unusable_files_are_refused_whole(card_kind, content, file_name, problem):
    assert rejected(card_kind, content, file_name) == [problem]


def test_the_same_file_cannot_be_imported_twice(card_kind):
    content = csv_bytes(good_rows(2))
    batch = import_cards(kind=card_kind, file_name="a.csv", content=content)
    [problem] = rejected(card_kind, content, "a-renamed.csv")
    when = f"{timezone.localtime(batch.imported_at):%Y-%m-%d %H:%M}"
    assert problem == messages.ALREADY_IMPORTED.format(batch=batch.pk, when=when)


def test_the_check_writes_nothing_to_the_pool_and_masks_the_sample(card_kind):
    upload = receive_upload(kind=card_kind, file_name="a.csv", chunks=[csv_bytes(good_rows(12))])
    upload = validate_upload(upload.pk)
    assert (upload.status, upload.row_count, len(upload.sample)) == ("validated", 12, 10)
    assert upload.sample[0] == {
        "row": 2,
        "card_no": "••••0000",
        "card_password": "P•••••••0",  # PW-000000: its first and last, its shape
        "card_password_shape": "9:digits+letters+symbols",
        "valid_until": valid_date(),
    }
    assert Card.objects.count() == 0 and CardBatch.objects.count() == 0


def run_import_command(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "import_cards", *arguments],
        cwd=ROOT,
        env=worker_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.django_db(transaction=True)
def test_the_command_imports_and_reports_bad_rows_on_stderr(tmp_path):
    CardKindFactory()
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(csv_bytes(good_rows(5)))
    bad.write_bytes(csv_bytes([["Z00000001", "p", "not-a-date"]]))

    refused = run_import_command("--kind", "JD20", str(bad))
    assert refused.returncode != 0
    assert row(2, messages.BAD_DATE.format(value="not-a-date")) in refused.stderr
    assert Card.objects.count() == 0

    imported = run_import_command("--kind", "JD20", "--supplier", "ACME", str(good))
    assert imported.returncode == 0, imported.stderr
    assert "Imported 5 JD20 cards" in imported.stdout
    assert "checked 5 rows (100%)" in imported.stderr
    assert Card.objects.count() == 5

    unknown = run_import_command("--kind", "NOPE", str(good))
    assert unknown.returncode != 0 and "Unknown card kind 'NOPE'" in unknown.stderr
