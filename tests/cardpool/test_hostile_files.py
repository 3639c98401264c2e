"""Files a supplier (or a spreadsheet) mangled: each refused with its own short message, and
nothing imported. Some of the 51 hostile files of issue #13; the rest (memory bombs, the
background import) are still open there."""

import io
import subprocess
import sys
from datetime import date

import pytest
from django.utils.translation import gettext as _

from cardpool.forms import MAX_UPLOAD_BYTES
from cardpool.services import importing as messages
from cardpool.services import workbook as sheets
from cardpool.services.importing import RowError
from tests.cardpool.files import csv_bytes, good_rows, valid_date
from tests.cardpool.test_import import rejected
from tests.processes import ROOT, worker_environment

pytestmark = pytest.mark.django_db


def workbook(*sheets: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for number, rows in enumerate(sheets, start=1):
        sheet = book.create_sheet(f"S{number}")
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


HEADER = ["card_no", "card_password", "valid_until"]
LATER = date.fromisoformat(valid_date())


@pytest.mark.parametrize(
    ("value", "kind"),
    [(1.2345678901234567e18, "number"), (123456789012, "number"), (True, "boolean")],
)
def test_a_card_number_that_is_not_a_text_cell_is_refused(card_kind, value, kind):
    content = workbook([HEADER, [value, "PW-1", LATER]])
    problem = messages.NOT_TEXT_CELL.format(column="card_no", kind=_(kind))
    assert rejected(card_kind, content, "cards.xlsx") == [str(RowError(2, problem))]


@pytest.mark.parametrize("password", ["PW\nX", "PW\tX", "PW\x7fX"])
def test_a_password_with_a_control_character_is_refused(card_kind, password):
    content = workbook([HEADER, ["JD0000000001", password, LATER]])
    problem = messages.CONTROL_CHARACTERS.format(column="card_password")
    assert rejected(card_kind, content, "cards.xlsx") == [str(RowError(2, problem))]


@pytest.mark.parametrize("password", ["PW\tX", "PW\x1b[31mX", '"PW\nX"', "PW\x00X"])
def test_a_csv_password_with_a_control_character_is_refused(card_kind, password):
    content = csv_bytes([["JD0000000001", password, valid_date()]])
    problem = messages.CONTROL_CHARACTERS.format(column="card_password")
    assert rejected(card_kind, content) == [str(RowError(2, problem))]


def test_a_value_in_a_column_without_a_header_is_refused(card_kind):
    content = csv_bytes([[*good_rows(1)[0], "stray"]])
    problem = messages.VALUE_WITHOUT_HEADER.format(column=4)
    assert rejected(card_kind, content) == [str(RowError(2, problem))]


@pytest.mark.parametrize("face_value", ["sNaN", "NaN", "Infinity", "-inf"])
def test_a_face_value_that_is_not_a_number_is_refused_not_a_traceback(card_kind, face_value):
    content = csv_bytes(
        [[*good_rows(1)[0], face_value]],
        header=("card_no", "card_password", "valid_until", "face_value"),
    )
    problem = messages.BAD_FACE_VALUE.format(value=face_value)
    assert rejected(card_kind, content) == [str(RowError(2, problem))]


def test_a_field_past_the_csv_limit_is_a_message_not_a_traceback(card_kind):
    content = csv_bytes([["JD0000000001", "P" * 200_000, valid_date()]])
    [problem] = rejected(card_kind, content)
    assert problem.startswith(str(messages.BAD_CSV).split("{")[0])


def test_a_workbook_with_several_sheets_or_none_is_refused(card_kind):
    two = workbook([HEADER, ["JD0000000001", "PW-1", LATER]], [["notes"]])
    assert rejected(card_kind, two, "cards.xlsx") == [
        str(messages.SEVERAL_SHEETS.format(count=2, names="S1, S2"))
    ]


def test_a_million_unknown_columns_give_a_short_message_with_no_escapes(card_kind):
    header = (*HEADER, "\x1b[2Jevil", *(f"extra{n}" for n in range(100_000)))
    [problem] = rejected(card_kind, csv_bytes([], header=header))
    more = _("and %(count)s more") % {"count": 99_991}
    assert len(problem) < 600 and "\x1b" not in problem and more in problem


@pytest.mark.django_db(transaction=True)  # the command runs in another process
def test_the_command_refuses_a_file_over_the_limit_before_reading_it(card_kind, tmp_path):
    big = tmp_path / "big.csv"
    with big.open("wb") as file:
        file.truncate(MAX_UPLOAD_BYTES + 1)  # sparse: nothing is written, nothing to read
    result = subprocess.run(
        [sys.executable, "manage.py", "import_cards", "--kind", card_kind.code, str(big)],
        cwd=ROOT,
        env=worker_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "the limit is 50 MB" in result.stderr


def rewritten(content: bytes, sheet_xml, part="xl/worksheets/sheet1.xml") -> bytes:
    """The same workbook with a part's XML (its first sheet's) replaced by ``sheet_xml(old)``."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == part:
                data = sheet_xml(data.decode()).encode()
            target.writestr(item, data)
    return buffer.getvalue()


def test_a_declared_dimension_of_a_million_rows_is_not_a_memory_bomb(card_kind):
    import re

    def bomb(xml: str) -> str:
        xml = re.sub(r"<dimension ref=\"[^\"]*\"/>", '<dimension ref="A1:XFD1048576"/>', xml)
        return xml.replace(
            "</sheetData>",
            '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
            "</sheetData>",
        )

    content = rewritten(workbook([HEADER, ["JD0000000001", "PW-1", LATER]]), bomb)
    assert len(content) < 10_000
    assert rejected(card_kind, content, "bomb.xlsx") == [
        str(sheets.TOO_MANY_ROWS.format(limit=sheets.MAX_ROWS - 1))
    ]


def test_a_value_far_to_the_right_is_refused_naming_its_cell(card_kind):
    def wide(xml: str) -> str:
        return xml.replace(
            "</row></sheetData>",
            '<c r="XFD2" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
        )

    content = rewritten(workbook([HEADER, ["JD0000000001", "PW-1", LATER]]), wide)
    assert rejected(card_kind, content, "wide.xlsx") == [
        str(sheets.CELL_TOO_FAR.format(cell="XFD2", limit=sheets.MAX_COLUMNS))
    ]


def test_a_zip_bomb_is_refused_before_anything_parses_it(card_kind):
    def padded(xml: str) -> str:
        return xml.replace("</sheetData>", "</sheetData>" + "<!-- -->" * 2_000_000)

    content = rewritten(workbook([HEADER, ["JD0000000001", "PW-1", LATER]]), padded)
    assert len(content) < 200_000  # 16 MB of XML in a small file
    [problem] = rejected(card_kind, content, "zip.xlsx")
    assert problem.startswith(str(messages.WORKBOOK_TOO_LARGE).split("{")[0])


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_imports_at_the_same_moment_never_deadlock(card_kind):
    """Four processes import at once: two overlapping files (same cards in another order) and
    two distinct ones. Each ends as 'imported' or a refusal naming the clash, never a database
    error, and every card is in the pool once."""
    import time

    from cardpool.models import Card
    from tests.processes import run_workers

    start_at = time.time() + 3
    results = run_workers(
        "tests.cardpool.workers.import_file",
        [
            (card_kind.code, "a.csv", [("SH", 3000, False)], start_at),
            (card_kind.code, "b.csv", [("SH", 3000, True), ("BB", 1, False)], start_at),
            (card_kind.code, "c.csv", [("CC", 2000, False)], start_at),
            (card_kind.code, "d.csv", [("DD", 2000, False)], start_at),
        ],
        timeout=120,
    )
    assert results[2:] == ["imported", "imported"], results
    # of the two overlapping files, one is imported and the other refused for the clash
    assert results[:2].count("imported") == 1, results
    [refused] = [result for result in results[:2] if result != "imported"]
    assert str(messages.DUPLICATE_IN_POOL) in refused
    won = 3000 if results[0] == "imported" else 3001
    assert Card.objects.count() == won + 2000 + 2000
