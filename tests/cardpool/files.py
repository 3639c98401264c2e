"""Card files as suppliers send them, built in memory."""

import io
from datetime import date, timedelta

from django.utils import timezone


def valid_date(days: int = 365) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def csv_bytes(
    rows: list[list], header=("card_no", "card_password", "valid_until"), encoding="utf-8"
) -> bytes:
    lines = [",".join(header)] + [",".join(str(value) for value in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def good_rows(count: int, prefix: str = "JD") -> list[list]:
    return [[f"{prefix}{index:010d}", f"PW-{index:06d}", valid_date()] for index in range(count)]


def xlsx_bytes(rows: list[list], header=("card_no", "card_password", "valid_until")) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(list(header))
    for row in rows:
        sheet.append(
            [
                date.fromisoformat(v)
                if isinstance(v, str) and v[:2] == "20" and len(v) == 10
                else v
                for v in row
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def excel_xlsx(rows: list[list], header=("card_no", "card_password", "valid_until")) -> bytes:
    """A workbook written as Excel writes one (openpyxl writes text inline instead): text in the
    shared strings part, dates as day numbers styled with a date format, no cell for an empty
    value. A row may be None (left out of the sheet, as Excel leaves out empty rows)."""
    import zipfile
    from xml.sax.saxutils import escape

    strings: dict[str, int] = {}
    epoch = date(1899, 12, 30)

    def cell(reference: str, value) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str) and value[:2] == "20" and len(value) == 10:
            value = date.fromisoformat(value)
        if isinstance(value, date):
            return f'<c r="{reference}" s="1"><v>{(value - epoch).days}</v></c>'
        if isinstance(value, bool):
            return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, int | float):
            return f'<c r="{reference}"><v>{value}</v></c>'
        index = strings.setdefault(value, len(strings))
        return f'<c r="{reference}" t="s"><v>{index}</v></c>'

    lines = []
    for number, values in enumerate([list(header), *rows], start=1):
        if values is not None:
            cells = "".join(cell(f"{chr(65 + i)}{number}", v) for i, v in enumerate(values))
            lines.append(f'<row r="{number}">{cells}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    relations = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    shared = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"/>',
        "_rels/.rels": f'<Relationships xmlns="{package}"><Relationship Id="rId1" '
        f'Type="{relations}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{relations}"><sheets>'
        '<sheet name="卡密" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{package}">'
        f'<Relationship Id="rId1" Type="{relations}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{relations}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId3" Type="{relations}/styles" Target="styles.xml"/>'
        "</Relationships>",
        "xl/styles.xml": f'<styleSheet xmlns="{main}"><numFmts count="1"><numFmt '
        'numFmtId="176" formatCode="yyyy/m/d;@"/></numFmts><cellStyleXfs count="1"><xf '
        'numFmtId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0"/><xf '
        'numFmtId="176"/></cellXfs></styleSheet>',
        "xl/sharedStrings.xml": f'<sst xmlns="{main}" count="{len(strings)}">{shared}</sst>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><sheetData>{"".join(lines)}'
        "</sheetData></worksheet>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in parts.items():
            archive.writestr(
                name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml
            )
    return buffer.getvalue()
