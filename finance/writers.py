"""Rows to a file, streamed: CSV (UTF-8 with a byte-order mark, so that Excel reads Chinese
right) or XLSX (openpyxl's write-only workbook, which keeps no sheet in memory). A text that a
spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@`` or a tab) is
written with a leading apostrophe, as OWASP advises for CSV injection."""

import csv
import re
from collections.abc import Callable, Iterable
from pathlib import Path

# OWASP's list, the line feed, and their full-width forms (a Chinese spreadsheet reads them too)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # refused by XLSX (and useless in CSV)


def _cell(value):
    if isinstance(value, str):
        value = CONTROL.sub("", value)
        if value.startswith(FORMULA_STARTS):
            return "'" + value
    return value


def write_csv(path: Path, header: Iterable, rows: Iterable[tuple], progress: Callable) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow([str(label) for label in header])
        for row in rows:
            writer.writerow([_cell(value) for value in row])
            count += 1
            progress(count)
    return count


def write_xlsx(path: Path, header: Iterable, rows: Iterable[tuple], progress: Callable) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([str(label) for label in header])
    count = 0
    for row in rows:
        sheet.append([_cell(value) for value in row])
        count += 1
        progress(count)
    workbook.save(path)
    return count


WRITERS = {"csv": write_csv, "xlsx": write_xlsx}
