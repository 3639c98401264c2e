"""Importing a supplier's card file: all rows or none.

A file is read twice: the first pass validates every row and collects the number digests (to
find duplicates inside the file and against the pool); the second encrypts and inserts in chunks.
Only digests and row numbers are kept between the passes, so memory stays bounded by the file
itself, not by its decrypted and encrypted copies.
"""

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import secrets
from ..exceptions import CardImportRejected
from ..models import Card, CardBatch, CardKind

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
CARD_NUMBER_PATTERN = re.compile(r"^[A-Z0-9-]{4,64}$")
PROGRESS_EVERY = 5000
COPY_CARDS = (
    "COPY cardpool_card (kind_id, batch_id, number_encrypted, password_encrypted, number_digest,"
    " number_last4, valid_until, status, created_at, updated_at) FROM STDIN"
)
DIGEST_QUERY_CHUNK = 5000
IMPORT_LOCK = 7_266_001  # pg_advisory_xact_lock key: one card import at a time

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
BAD_CARD_NUMBER = _("card_no must be 4 to 64 letters, digits or dashes.")
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
# decides the work: a 1.6 KB file declaring A1:XFD1048576 once took 2.9 GB, a 2.3 MB zip held
# 680 MB of sheet XML.
MAX_ROWS = 1_000_001  # a million cards and the header
MAX_COLUMNS = 64
MAX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
TOO_MANY_ROWS = _("The sheet has more than {limit} rows; split it into batches.")
TOO_MANY_COLUMNS = _("Row {row} has data in column {column}; at most {limit} columns are read.")
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


@dataclass
class ImportPreview:
    kind: CardKind
    file_name: str
    content_sha256: str
    row_count: int = 0
    sample: list[dict] = field(default_factory=list)  # passwords masked
    errors: list[RowError] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors and self.row_count > 0


class _FileProblem(Exception):
    pass


def _decode(content: bytes) -> str:
    # UTF-8 first (strict, so GBK bytes never pass as UTF-8 by accident), then GB18030,
    # the superset of GBK that suppliers' Excel exports use.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _FileProblem(UNREADABLE_ENCODING)


class _Rows:
    """A file's raw rows, readable twice (validate, then write). A workbook is parsed once and
    kept as a list: openpyxl's parsing is most of an XLSX import's time. CSV text is re-read."""

    def __init__(self, file_name: str, content: bytes):
        self.file_name = file_name
        self.content = content
        self._sheet: list[list] | None = None

    def __iter__(self) -> Iterator[list]:
        if self.content.startswith(b"PK\x03\x04"):
            if self._sheet is None:
                self._sheet = list(_xlsx_rows(self.content))
            return iter(self._sheet)
        if self.content.startswith(b"\xd0\xcf\x11\xe0") or self.file_name.lower().endswith(".xls"):
            raise _FileProblem(OLD_EXCEL)
        return csv.reader(io.StringIO(_decode(self.content), newline=""))


def _check_archive(content: bytes) -> None:
    """Refuse a workbook whose parts unpack to too much, before anything parses them."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, OSError) as error:
        raise _FileProblem(NOT_A_WORKBOOK.format(error=type(error).__name__)) from None
    ratio = unpacked / max(len(content), 1)
    if unpacked > MAX_UNCOMPRESSED_BYTES or (unpacked > 2**20 and ratio > MAX_COMPRESSION_RATIO):
        raise _FileProblem(
            WORKBOOK_TOO_LARGE.format(
                size=unpacked // 2**20, ratio=int(ratio), limit=MAX_UNCOMPRESSED_BYTES // 2**20
            )
        )


def _xlsx_rows(content: bytes) -> Iterator[list]:
    from openpyxl import load_workbook

    _check_archive(content)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged archive
        raise _FileProblem(NOT_A_WORKBOOK.format(error=type(error).__name__)) from None
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise _FileProblem(NO_SHEET)
        if len(sheets) > 1:
            names = _listed([sheet.title for sheet in sheets])
            raise _FileProblem(SEVERAL_SHEETS.format(count=len(sheets), names=names))
        sheet = sheets[0]
        sheet.reset_dimensions()  # rows as wide as their data, not as the declared dimension
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > MAX_ROWS:
                raise _FileProblem(TOO_MANY_ROWS.format(limit=MAX_ROWS - 1))
            if len(values) > MAX_COLUMNS and any(v is not None for v in values[MAX_COLUMNS:]):
                column = MAX_COLUMNS + next(
                    i for i, v in enumerate(values[MAX_COLUMNS:], start=1) if v is not None
                )
                raise _FileProblem(
                    TOO_MANY_COLUMNS.format(row=number, column=column, limit=MAX_COLUMNS)
                )
            yield ["" if value is None else value for value in values[:MAX_COLUMNS]]
    finally:
        workbook.close()


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
            raise _FileProblem(DUPLICATE_COLUMN.format(column=canonical))
        else:
            columns[canonical] = index
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise _FileProblem(MISSING_COLUMNS.format(missing=", ".join(missing)))
    if unknown:
        raise _FileProblem(UNKNOWN_COLUMNS.format(unknown=_listed(unknown)))
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
    text = _text(value)
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _parse_row(row_number: int, values: list, columns: dict, kind: CardKind, today: date):
    """A ``CardRow``, or the list of this row's problems."""

    def cell(column: str):
        index = columns.get(column)
        return values[index] if index is not None and index < len(values) else ""

    problems = []
    for column in ("card_no", "card_password"):
        value = cell(column)
        if not isinstance(value, str):  # only an XLSX cell can be a number, a date or a boolean
            kind_name = "boolean" if isinstance(value, bool) else type(value).__name__
            problems.append(NOT_TEXT_CELL.format(column=column, kind=kind_name))
        elif any(not char.isprintable() for char in value.strip()):
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


def _card_rows(kind: CardKind, source: _Rows) -> Iterator[CardRow | list]:
    """Yields a ``CardRow`` or a list of ``RowError`` per data row; raises ``_FileProblem``."""
    rows = iter(source)
    try:
        header = next(rows, None)
        if header is None:
            raise _FileProblem(EMPTY_FILE)
        columns = _columns(header)
        today = timezone.localdate()
        for row_number, values in enumerate(rows, start=2):
            if all(_text(value) == "" for value in values):
                continue  # blank lines (a trailing newline, an empty spreadsheet row)
            yield _parse_row(row_number, values, columns, kind, today)
    except csv.Error as error:  # a field past the csv module's limit, a NUL in the text...
        raise _FileProblem(BAD_CSV.format(error=_printable(error, 80))) from None


def _existing_digests(digests: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(digests), DIGEST_QUERY_CHUNK):
        chunk = digests[start : start + DIGEST_QUERY_CHUNK]
        found.update(
            Card.objects.filter(number_digest__in=chunk).values_list("number_digest", flat=True)
        )
    return found


def _mask(secret: str) -> str:
    return "•" * 6 if len(secret) <= 4 else secret[:2] + "•" * 6


def preview_cards(
    *, kind: CardKind, file_name: str, content: bytes, sample_size: int = 10
) -> ImportPreview:
    """Validate a card file without writing anything. Every problem is reported with its row."""
    return _preview(kind, _Rows(file_name, content), sample_size)


def _preview(kind: CardKind, source: _Rows, sample_size: int) -> ImportPreview:
    preview = ImportPreview(kind, source.file_name, hashlib.sha256(source.content).hexdigest())
    previous = CardBatch.objects.filter(content_sha256=preview.content_sha256).first()
    if previous is not None:
        when = timezone.localtime(previous.imported_at).strftime("%Y-%m-%d %H:%M")
        preview.errors.append(RowError(0, ALREADY_IMPORTED.format(batch=previous.pk, when=when)))
        return preview
    first_row_of: dict[str, int] = {}
    try:
        for parsed in _card_rows(kind, source):
            preview.row_count += 1
            if isinstance(parsed, list):
                preview.errors.extend(parsed)
                continue
            digest = secrets.number_digest(parsed.number)
            if digest in first_row_of:
                first = first_row_of[digest]
                preview.errors.append(RowError(parsed.row, DUPLICATE_IN_FILE.format(first=first)))
                continue
            first_row_of[digest] = parsed.row
            if len(preview.sample) < sample_size:
                preview.sample.append(
                    {
                        "row": parsed.row,
                        "card_no": parsed.number,
                        "card_password": _mask(parsed.password),
                        "valid_until": parsed.valid_until,
                    }
                )
    except _FileProblem as problem:
        preview.errors.insert(0, RowError(0, str(problem)))
        return preview
    if preview.row_count == 0:
        preview.errors.append(RowError(0, EMPTY_FILE))
    in_pool = _existing_digests(list(first_row_of))
    preview.errors.extend(
        RowError(first_row_of[digest], DUPLICATE_IN_POOL) for digest in sorted(in_pool)
    )
    preview.errors.sort(key=lambda error: error.row)
    return preview


@transaction.atomic(durable=True)
def import_cards(
    *,
    kind: CardKind,
    file_name: str,
    content: bytes,
    supplier: str = "",
    actor=None,
    progress: Callable[[int, int], None] | None = None,
) -> CardBatch:
    """Import every card of a file into a new batch, or none.

    Raises ``CardImportRejected`` (with every problem and its row) and writes nothing when any row
    is bad, the file is unreadable or empty, or the same file was imported before. The unique
    constraints on the batch hash and on the card digest back the checks up if two staff import
    overlapping files at the same moment: the loser's transaction rolls back whole.
    ``progress(done, total)`` is called every ``PROGRESS_EVERY`` rows and at the end.

    Imports run one at a time (a transaction-scoped advisory lock, taken before validation):
    two at once deadlocked on the digest index, and the second one now waits, then finds the
    first one's cards and is refused with the rows they collide on.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])
    source = _Rows(file_name, content)
    preview = _preview(kind, source, sample_size=0)
    if not preview.is_valid:
        raise CardImportRejected(preview.errors)
    batch = CardBatch.objects.create(
        kind=kind,
        supplier=supplier,
        file_name=file_name,
        content_sha256=preview.content_sha256,
        imported_by=actor,
        row_count=preview.row_count,
    )
    now = timezone.now()
    done = 0
    # COPY, not bulk_create: the ORM's per-row SQL compilation was most of the import's time.
    with connection.cursor() as cursor, cursor.cursor.copy(COPY_CARDS) as copy:
        for parsed in _card_rows(kind, source):
            copy.write_row(
                (
                    kind.pk,
                    batch.pk,
                    secrets.encrypt(parsed.number),
                    secrets.encrypt(parsed.password),
                    secrets.number_digest(parsed.number),
                    parsed.number[-4:],
                    parsed.valid_until,
                    Card.Status.AVAILABLE.value,
                    now,
                    now,
                )
            )
            done += 1
            if progress and (done % PROGRESS_EVERY == 0 or done == preview.row_count):
                progress(done, preview.row_count)
    return batch
