"""Reading a supplier's card file and checking every row.

A file is read once, as a stream of rows: a CSV through an incremental decoder over the stored
upload's slices (memory bounded by a slice, not by the file), a workbook's sheet a slice of its
XML at a time (``services.workbook``). What happens to the rows (staging, import) is
``services.uploads``.
"""

import codecs
import csv
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import secrets
from ..models import CardKind
from . import workbook

HEADER_ALIASES = {
    "card_no": "card_no",
    "卡号": "card_no",
    "card_password": "card_password",
    "卡密": "card_password",
    "valid_until": "valid_until",
    "有效期": "valid_until",
    "face_value": "face_value",
    "面值": "face_value",
}
REQUIRED_COLUMNS = ("card_no", "card_password", "valid_until")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")
# Not starting with a dash: nothing a spreadsheet would take for a formula (=, +, -, @).
CARD_NUMBER_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,63}$")
EMPTY_FILE = _("The file has no card rows.")
UNREADABLE_ENCODING = _("The file is neither UTF-8 nor GBK text; save it as UTF-8 CSV or as XLSX.")
NOT_A_WORKBOOK = _("The file looks like an Excel workbook but cannot be read: {error}")
OLD_EXCEL = _("Excel 97-2003 (.xls) files are not supported; save the file as .xlsx or .csv.")
MISSING_COLUMNS = _(
    "Missing column(s): {missing}. "
    "Expected card_no, card_password, valid_until (or 卡号, 卡密, 有效期)."
)
UNKNOWN_COLUMNS = _(
    "Unknown column(s): {unknown}. Allowed: card_no, card_password, valid_until, face_value."
)
DUPLICATE_COLUMN = _("Column {column} appears twice.")
ALREADY_IMPORTED = _("This file was already imported (batch #{batch}, {when}).")
MISSING_VALUE = _("{column} is empty.")
BAD_CARD_NUMBER = _(
    "card_no must be 4 to 64 letters, digits or dashes, starting with a letter or a digit."
)
BAD_DATE = _("valid_until {value!r} is not a date (use YYYY-MM-DD).")
ALREADY_EXPIRED = _("The card expired on {valid_until}.")
BAD_FACE_VALUE = _("face_value {value!r} is not a number.")
FACE_VALUE_MISMATCH = _("face_value {value} does not match kind {kind} ({expected}).")
DUPLICATE_IN_FILE = _("card_no is a duplicate of row {first}.")
DUPLICATE_IN_POOL = _("card_no is already in the pool.")
CARD_PASSWORD_TOO_LONG = _("card_password is longer than 256 characters.")
CONTROL_CHARACTERS = _("{column} contains a control character (a NUL, a line break, a tab...).")
NOT_TEXT_CELL = _(
    "{column} is a {kind} cell; it must be a text cell (Excel rounds long numbers and turns "
    "values into TRUE/FALSE)."
)
VALUE_WITHOUT_HEADER = _("column {column} holds a value but has no header.")
BAD_CSV = _("The file cannot be read as CSV: {error}.")
NO_SHEET = _("The workbook has no sheet.")
SEVERAL_SHEETS = _("The workbook has {count} sheets ({names}); keep only the sheet with the cards.")
MAX_LISTED = 10
# Bounds on a workbook, so that its real data, not what it declares or how well it compresses,
# decides the work: a 2.3 MB zip once held 680 MB of sheet XML (the sheet's own bounds, on rows,
# columns and a cell's length, are ``services.workbook``'s).
MAX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
WORKBOOK_TOO_LARGE = _(
    "The workbook unpacks to {size} MB (or {ratio}× its size); the limit is {limit} MB. Save "
    "it again from Excel, or as CSV."
)


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based line of the file, the header being row 1; 0 for the whole file
    message: str

    def __str__(self) -> str:
        if not self.row:
            return str(self.message)
        return _("row %(row)s: %(message)s") % {"row": self.row, "message": self.message}


@dataclass(frozen=True)
class CardRow:
    row: int
    number: str
    password: str
    valid_until: date


class FileProblem(Exception):
    """The file as a whole cannot be imported; the message says why."""


class CardFile:
    """A stored file's rows, read once. ``chunks`` returns the file's bytes in slices (anew at
    each call); ``fraction`` tells how much of the file has been read."""

    def __init__(self, file_name: str, size: int, chunks: Callable[[], Iterator[bytes]]):
        self.file_name = file_name
        self.size = size
        self._chunks = chunks
        self._done = 0.0

    @classmethod
    def from_bytes(cls, file_name: str, content: bytes) -> "CardFile":
        return cls(file_name, len(content), lambda: iter([content]))

    @property
    def fraction(self) -> float:
        return min(self._done, 1.0)

    def __iter__(self) -> Iterator[list]:
        head = next(self._chunks(), b"")[:8]
        if head.startswith(b"PK\x03\x04"):
            return self._xlsx_rows()
        if head.startswith(b"\xd0\xcf\x11\xe0") or self.file_name.lower().endswith(".xls"):
            raise FileProblem(OLD_EXCEL)
        return self._csv_rows()

    def _csv_rows(self) -> Iterator[list]:
        encoding = self._encoding()
        stream = _ChunkStream(self._chunks())
        text = io.TextIOWrapper(io.BufferedReader(stream, 1 << 16), encoding, newline="")
        try:
            for values in csv.reader(text):
                self._done = stream.consumed / max(self.size, 1)
                yield values
        except UnicodeDecodeError:
            raise FileProblem(UNREADABLE_ENCODING) from None

    def _encoding(self) -> str:
        # UTF-8 first (strict, so GBK bytes never pass as UTF-8 by accident), then GB18030, the
        # superset of GBK that suppliers' Excel exports use (checked while reading).
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for chunk in self._chunks():
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
        return "utf-8-sig"

    def _xlsx_rows(self) -> Iterator[list]:
        content = b"".join(self._chunks())  # a zip is read from its end: the file, once
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                _check_size(archive, len(content))
                book = workbook.Workbook(archive)
                sheets = book.worksheets
                if not sheets:
                    raise FileProblem(NO_SHEET)
                if len(sheets) > 1:
                    names = [name for name, _part in sheets]
                    raise FileProblem(
                        SEVERAL_SHEETS.format(count=len(sheets), names=_listed(names))
                    )
                [(_name, part)] = sheets
                rows = book.rows(part)
                for values in rows:
                    self._done = rows.consumed / max(rows.size, 1)
                    yield values
        except workbook.WorkbookProblem as problem:
            raise FileProblem(str(problem)) from None
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
            raise FileProblem(NOT_A_WORKBOOK.format(error=type(error).__name__)) from None


class _ChunkStream(io.RawIOBase):
    """The slices of a stored file as one readable stream (for ``io.TextIOWrapper``)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._current = memoryview(b"")
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._current:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._current = memoryview(chunk)
        size = min(len(target), len(self._current))
        target[:size] = self._current[:size]
        self._current = self._current[size:]
        self.consumed += size
        return size


def _check_size(archive: zipfile.ZipFile, size: int) -> None:
    """Refuse a workbook whose parts unpack to too much before any part is read (a part yields
    at most the size its entry declares)."""
    unpacked = sum(entry.file_size for entry in archive.infolist())
    ratio = unpacked / max(size, 1)
    if unpacked > MAX_UNCOMPRESSED_BYTES or (unpacked > 2**20 and ratio > MAX_COMPRESSION_RATIO):
        raise FileProblem(
            WORKBOOK_TOO_LARGE.format(
                size=unpacked // 2**20, ratio=int(ratio), limit=MAX_UNCOMPRESSED_BYTES // 2**20
            )
        )


def _printable(value, limit: int = 40) -> str:
    """A supplier's text as it may appear in a message or a terminal: control characters (ANSI
    escapes among them) replaced, and cut short."""
    text = "".join(char if char.isprintable() else "?" for char in str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _listed(names: list) -> str:
    shown = ", ".join(_printable(name) for name in names[:MAX_LISTED])
    if len(names) > MAX_LISTED:
        shown += " " + _("and %(count)s more") % {"count": len(names) - MAX_LISTED}
    return shown


def _columns(header: list) -> dict[str, int]:
    columns: dict[str, int] = {}
    unknown = []
    for index, title in enumerate(header):
        name = str(title).strip().lstrip("\ufeff").lower()
        if not name:
            continue
        canonical = HEADER_ALIASES.get(name)
        if canonical is None:
            unknown.append(str(title).strip())
        elif canonical in columns:
            raise FileProblem(DUPLICATE_COLUMN.format(column=canonical))
        else:
            columns[canonical] = index
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise FileProblem(MISSING_COLUMNS.format(missing=", ".join(missing)))
    if unknown:
        raise FileProblem(UNKNOWN_COLUMNS.format(unknown=_listed(unknown)))
    return columns


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a card number typed into Excel as a number
    return str(value).strip()


def _parse_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return _date_from_text(_text(value))


@lru_cache(maxsize=4096)
def _date_from_text(text: str) -> date | None:
    """Cached: a file's cards share a handful of dates, and strptime was a third of a row's
    checking time."""
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _cell_kind(value) -> str:
    if isinstance(value, bool):
        return _("boolean")
    if isinstance(value, int | float):
        return _("number")
    return _("date")


def _parse_row(row_number: int, values: list, columns: dict, kind: CardKind, today: date):
    """A ``CardRow``, or the list of this row's problems."""

    def cell(column: str):
        index = columns.get(column)
        return values[index] if index is not None and index < len(values) else ""

    problems = []
    for column in ("card_no", "card_password"):
        value = cell(column)
        if not isinstance(value, str):  # only an XLSX cell can be a number, a date or a boolean
            problems.append(NOT_TEXT_CELL.format(column=column, kind=_cell_kind(value)))
        elif not value.strip().isprintable():
            problems.append(CONTROL_CHARACTERS.format(column=column))
    stray = [
        index
        for index, value in enumerate(values)
        if index not in columns.values() and _text(value) != ""
    ]
    if stray:
        problems.append(VALUE_WITHOUT_HEADER.format(column=stray[0] + 1))
    number = secrets.normalize_number(_text(cell("card_no")))
    password = _text(cell("card_password"))
    raw_date = cell("valid_until")
    for column, value in (("card_no", number), ("card_password", password)):
        if not value:
            problems.append(MISSING_VALUE.format(column=column))
    if number and not CARD_NUMBER_PATTERN.match(number):
        problems.append(BAD_CARD_NUMBER)
    if len(password) > 256:
        problems.append(CARD_PASSWORD_TOO_LONG)
    valid_until = None
    if _text(raw_date) == "":
        problems.append(MISSING_VALUE.format(column="valid_until"))
    else:
        valid_until = _parse_date(raw_date)
        if valid_until is None:
            problems.append(BAD_DATE.format(value=_text(raw_date)))
        elif valid_until < today:
            problems.append(ALREADY_EXPIRED.format(valid_until=valid_until.isoformat()))
    if "face_value" in columns and _text(cell("face_value")):
        try:
            face_value = Decimal(_text(cell("face_value")))
            if not face_value.is_finite():  # NaN, sNaN and Infinity are Decimals too
                raise InvalidOperation
        except InvalidOperation:
            problems.append(BAD_FACE_VALUE.format(value=_printable(cell("face_value"))))
        else:
            if face_value != kind.face_value:
                problems.append(
                    FACE_VALUE_MISMATCH.format(
                        value=face_value, kind=kind.code, expected=kind.face_value
                    )
                )
    if problems:
        return [RowError(row_number, problem) for problem in problems]
    return CardRow(row_number, number, password, valid_until)


def card_rows(kind: CardKind, source: CardFile) -> Iterator[CardRow | list]:
    """Yields a ``CardRow`` or a list of ``RowError`` per data row; raises ``FileProblem``."""
    rows = iter(source)
    try:
        header = next(rows, None)
        if header is None:
            raise FileProblem(EMPTY_FILE)
        columns = _columns(header)
        today = timezone.localdate()
        for row_number, values in enumerate(rows, start=2):
            if all(_text(value) == "" for value in values):
                continue  # blank lines (a trailing newline, an empty spreadsheet row)
            yield _parse_row(row_number, values, columns, kind, today)
    except csv.Error as error:  # a field past the csv module's limit, a NUL in the text...
        raise FileProblem(BAD_CSV.format(error=_printable(error, 80))) from None
