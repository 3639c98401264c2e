"""Workbooks as Excel writes them, read a slice at a time (``cardpool.services.workbook``):
shared strings, styled dates, rows and cells left out, and the XML a hostile file may hold."""

import io
import re
import zipfile
from datetime import date, datetime

import pytest

from cardpool import secrets
from cardpool.models import Card
from cardpool.services import import_cards
from cardpool.services import importing as messages
from cardpool.services import workbook as sheets
from cardpool.services.importing import RowError, _cell_kind
from tests.cardpool.files import excel_xlsx, good_rows, valid_date
from tests.cardpool.test_hostile_files import rewritten
from tests.cardpool.test_import import rejected

pytestmark = pytest.mark.django_db


def rows_of(content: bytes) -> list[list]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        book = sheets.Workbook(archive)
        [(_name, part)] = book.worksheets
        return list(book.rows(part))


def test_shared_strings_and_styled_dates_are_read_as_excel_shows_them():
    later = valid_date()
    content = excel_xlsx([["JD0000000001", "PW-1", later], None, ["JD0000000002", "", later]])
    assert rows_of(content) == [
        ["card_no", "card_password", "valid_until"],
        ["JD0000000001", "PW-1", datetime.combine(date.fromisoformat(later), datetime.min.time())],
        [],  # row 3, left out of the sheet
        ["JD0000000002", "", datetime.combine(date.fromisoformat(later), datetime.min.time())],
    ]


def test_a_workbook_written_by_excel_imports_every_card(card_kind):
    content = excel_xlsx(good_rows(3, "X"), header=("卡号", "卡密", "有效期"))
    assert import_cards(kind=card_kind, file_name="cards.xlsx", content=content).row_count == 3
    card = Card.objects.get(number_digest=secrets.number_digest("X0000000002"))
    assert secrets.decrypt(card.password_encrypted) == "PW-000002"


def test_problems_are_reported_on_the_rows_excel_numbers(card_kind):
    # rows 3 and 4 are left out of the sheet; the bad row is the sheet's row 5
    content = excel_xlsx([["JD0000000001", "PW-1", valid_date()], None, None, [12345678, "PW-2"]])
    assert rejected(card_kind, content, "cards.xlsx") == [
        str(RowError(5, messages.NOT_TEXT_CELL.format(column="card_no", kind=_cell_kind(1.0)))),
        str(RowError(5, messages.MISSING_VALUE.format(column="valid_until"))),
    ]


def test_rich_text_is_its_runs_without_the_phonetic_guide():
    def rich(xml: str) -> str:
        return xml.replace(
            "<si><t>PW-1</t></si>",
            "<si><r><t>PW</t></r><r><rPr><b/></rPr><t>-1</t></r><rPh><t>ふ</t></rPh></si>",
        )

    content = excel_xlsx([["JD0000000001", "PW-1", valid_date()]])
    content = rewritten(content, rich, part="xl/sharedStrings.xml")
    assert rows_of(content)[1][1] == "PW-1"


def test_dates_of_a_1904_workbook_and_cells_without_a_reference():
    def from_1904(xml: str) -> str:
        return xml.replace("<sheets>", '<workbookPr date1904="1"/><sheets>')

    def unreferenced(xml: str) -> str:
        return xml.replace(' r="A2"', "").replace(' r="B2"', "").replace(' r="C2"', "")

    content = excel_xlsx([["JD0000000001", "PW-1", "2030-01-01"]])
    content = rewritten(rewritten(content, from_1904, part="xl/workbook.xml"), unreferenced)
    # the same day number counts from 1 January 1904: four years and a day later
    assert rows_of(content)[1] == ["JD0000000001", "PW-1", datetime(2034, 1, 2)]


@pytest.mark.parametrize(
    ("part", "change", "problem"),
    [
        (  # a billion laughs: no entity is ever expanded
            "xl/sharedStrings.xml",
            lambda xml: xml.replace(
                "<sst",
                '<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><sst',
            ),
            sheets.DECLARATION.format(part="xl/sharedStrings.xml"),
        ),
        (  # an external entity: never fetched
            "xl/worksheets/sheet1.xml",
            lambda xml: xml.replace(
                "<worksheet", '<!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]><worksheet'
            ),
            sheets.DECLARATION.format(part="xl/worksheets/sheet1.xml"),
        ),
        (
            "xl/worksheets/sheet1.xml",
            lambda xml: xml.replace("<v>1</v>", "<v>999999</v>", 1),
            sheets.MISSING_STRING.format(cell="B1"),
        ),
        (
            "xl/sharedStrings.xml",
            lambda xml: xml.replace("<t>PW-1</t>", "<t>" + "x" * 40_000 + "</t>"),
            sheets.STRING_TOO_LONG.format(number=5, limit=sheets.MAX_CELL_CHARACTERS),
        ),
        (
            "xl/worksheets/sheet1.xml",
            lambda xml: xml.replace("</sheetData>", "<row>"),
            sheets.BAD_PART.format(part="xl/worksheets/sheet1.xml", error="mismatched tag"),
        ),
    ],
    ids=["entities", "external-entity", "missing-string", "long-cell", "broken-xml"],
)
def test_hostile_xml_is_refused_with_its_own_message(card_kind, part, change, problem):
    content = excel_xlsx([["JD0000000001", "PW-1", valid_date()]])
    assert rejected(card_kind, rewritten(content, change, part=part), "cards.xlsx") == [
        str(problem)
    ]


def test_an_error_cell_is_no_value_never_its_text(card_kind):
    # a password looked up by a formula, pasted as values: a failed lookup is an error cell
    def failed_lookup(xml: str) -> str:
        return re.sub(r'<c r="B2" t="s"><v>[0-9]+</v></c>', '<c r="B2" t="e"><v>#N/A</v></c>', xml)

    content = rewritten(excel_xlsx([["JD0000000001", "PW-1", valid_date()]]), failed_lookup)
    assert rows_of(content)[1][1] == ""
    assert rejected(card_kind, content, "cards.xlsx") == [
        str(RowError(2, messages.MISSING_VALUE.format(column="card_password")))
    ]


def test_formulas_outside_cells_are_not_the_cells_formulas():
    # a data bar's conditional format holds formulas of its own, after the sheet's data
    def data_bar(xml: str) -> str:
        return xml.replace(
            "</sheetData>",
            '</sheetData><extLst><ext uri="{78C0D931-6437-407d-A8EE-F0AAD7539E65}">'
            "<x14:conditionalFormattings><x14:conditionalFormatting><x14:cfRule><x14:dataBar>"
            '<x14:cfvo type="num"><xm:f>0</xm:f></x14:cfvo></x14:dataBar></x14:cfRule>'
            "</x14:conditionalFormatting></x14:conditionalFormattings></ext></extLst>",
        )

    content = rewritten(excel_xlsx([["JD0000000001", "PW-1", "2030-01-01"]]), data_bar)
    assert rows_of(content)[1] == ["JD0000000001", "PW-1", datetime(2030, 1, 1)]


def test_a_conditional_format_s_number_format_is_not_a_cell_s():
    # the differential formats (dxfs) carry number formats that reuse ids: a date code there
    # must not make a plain number a date
    def dxf(xml: str) -> str:
        return xml.replace(
            "</styleSheet>",
            '<dxfs count="1"><dxf><numFmt numFmtId="0" formatCode="yyyy-mm-dd"/></dxf></dxfs>'
            "</styleSheet>",
        )

    content = rewritten(excel_xlsx([["JD0000000001", "PW-1", 45000]]), dxf, part="xl/styles.xml")
    assert rows_of(content)[1][2] == 45000.0


def test_a_date_cell_holding_no_number_is_a_bad_date_not_a_traceback(card_kind):
    def nan(xml: str) -> str:
        return re.sub(r'(<c r="C2" s="1"><v>)[0-9]+', r"\1NaN", xml)

    content = rewritten(excel_xlsx([["JD0000000001", "PW-1", valid_date()]]), nan)
    assert rejected(card_kind, content, "cards.xlsx") == [
        str(RowError(2, messages.BAD_DATE.format(value="nan")))
    ]


def _marked_encrypted(content: bytes, name: str) -> bytes:
    """The workbook with one entry marked encrypted in the zip's directory (as a file saved with
    a password to open it says; zipfile's writer cannot make one)."""
    data = bytearray(content)
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) != -1:
        length = int.from_bytes(data[start + 28 : start + 30], "little")
        if data[start + 46 : start + 46 + length] == name.encode():
            data[start + 8] |= 0x1
        start += 4
    return bytes(data)


def test_a_missing_sheet_or_an_encrypted_part_is_a_message_not_a_traceback(card_kind):
    content = excel_xlsx([["JD0000000001", "PW-1", valid_date()]])
    sheet = "xl/worksheets/sheet1.xml"
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as without_sheet:
        for item in source.infolist():
            if item.filename != sheet:
                without_sheet.writestr(item, source.read(item.filename))

    assert rejected(card_kind, buffer.getvalue(), "cards.xlsx") == [
        str(sheets.BAD_PART.format(part=sheet, error="KeyError"))
    ]
    assert rejected(card_kind, _marked_encrypted(content, sheet), "cards.xlsx") == [
        str(sheets.BAD_PART.format(part=sheet, error="RuntimeError"))
    ]
