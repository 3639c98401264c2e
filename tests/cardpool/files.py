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
