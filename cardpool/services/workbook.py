"""An XLSX workbook's one sheet, read as a stream of rows in bounded memory.

An XLSX file is a zip of XML parts (ECMA-376): the workbook part names the sheets, a sheet's part
holds its rows, a text cell usually holds the index of a string in the shared strings part, and a
number is a date when its cell's style has a date format. Each part is parsed by the standard
library's expat, one slice at a time, so memory is the shared strings (one UTF-8 buffer and their
offsets, not a Python string each) and a few slices of rows, never the sheet: python-calamine
built the whole sheet before the first row (408 MB at a million rows).

Raises ``WorkbookProblem`` with a message for staff; the caller adds the size limits of the zip.
"""

import posixpath
import re
import zipfile
from array import array
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta
from xml.parsers import expat

from django.utils.translation import gettext_lazy as _

MAX_COLUMNS = 64
MAX_ROWS = 1_000_001  # a million cards and the header
MAX_CELL_CHARACTERS = 32_767  # Excel's own limit for a cell
SLICE = 1 << 20

TOO_MANY_ROWS = _("The sheet has more than {limit} rows; split it into batches.")
CELL_TOO_FAR = _("Cell {cell} holds data; at most {limit} columns are read.")
FORMULA_CELL = _(
    "Cell {cell} holds a formula; card files must hold values only (copy the sheet and paste "
    "values)."
)
BAD_PART = _("The workbook's part {part} is damaged or missing: {error}")
CELL_TOO_LONG = _("Cell {cell} holds more than {limit} characters.")
STRING_TOO_LONG = _(
    "Text number {number} of the workbook (its shared strings) holds more than {limit} characters."
)
MISSING_STRING = _("Cell {cell} refers to text the workbook does not hold.")
DECLARATION = _("The workbook's part {part} declares entities or a document type; refused.")

_DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)])
# What a number format's code may hold that is not a date part: quoted text, [colours] and
# [conditions], escaped characters (\x, _x, *x).
_NOT_DATE_PARTS = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')
_EXCEL_EPOCH = {False: datetime(1899, 12, 30), True: datetime(1904, 1, 1)}


class WorkbookProblem(Exception):
    """The workbook cannot be read as a card file; the message says why."""


class Workbook:
    """A workbook's index, read once: its worksheets (not chart, dialog or macro sheets) as
    (name, part), and what reading a sheet needs (the shared strings and styles' parts, the
    date system)."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        path = _office_document(archive)
        relations = _relations(archive, path)
        sheets, self.date1904 = _workbook(archive, path)
        self.worksheets = [
            (name, relations[rid][1])
            for name, rid in sheets
            if rid in relations and relations[rid][0].endswith("/worksheet")
        ]
        self._parts = {kind.rsplit("/", 1)[-1]: part for kind, part in relations.values()}

    def rows(self, sheet: str) -> "SheetRows":
        """A worksheet's rows, row 1 first: a row the sheet leaves out is an empty list, a cell
        it leaves out "". Text is str, a number float, a date datetime, a boolean bool."""
        strings = _shared_strings(self.archive, self._parts.get("sharedStrings"))
        dates = _date_styles(self.archive, self._parts.get("styles"))
        return SheetRows(self.archive, sheet, strings, dates, self.date1904)


# The package's parts ------------------------------------------------------------------------


def _info(archive: zipfile.ZipFile, path: str) -> zipfile.ZipInfo:
    try:
        return archive.getinfo(path)
    except KeyError:
        raise WorkbookProblem(BAD_PART.format(part=path, error="KeyError")) from None


def _parse(archive: zipfile.ZipFile, path: str, start, end=None, text=None) -> Iterator[int]:
    """Feeds a part to expat a slice at a time, yielding the bytes read after each (the handlers
    collect what they need). Document types and entity declarations are refused: no entity is
    expanded, no external reference followed."""
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text

    def refuse(*args):
        raise WorkbookProblem(DECLARATION.format(part=path))

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    consumed = 0
    try:
        with archive.open(_info(archive, path)) as part:
            while block := part.read(SLICE):
                parser.Parse(block, False)
                consumed += len(block)
                yield consumed
            parser.Parse(b"", True)
            yield consumed
    except expat.ExpatError as error:
        raise WorkbookProblem(
            BAD_PART.format(part=path, error=expat.ErrorString(error.code))
        ) from None
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as error:
        # RuntimeError: an encrypted entry; NotImplementedError: a compression zipfile lacks
        raise WorkbookProblem(BAD_PART.format(part=path, error=type(error).__name__)) from None


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _relations(archive: zipfile.ZipFile, source: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (type, the target's path in the zip)."""
    folder, name = posixpath.split(source)
    path = posixpath.join(folder, "_rels", name + ".rels")
    found: dict[str, tuple[str, str]] = {}
    if path not in archive.NameToInfo:
        return found

    def start(tag, attrs):
        if _local(tag) == "Relationship" and attrs.get("TargetMode") != "External":
            target = attrs.get("Target", "")
            target = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            found[attrs.get("Id", "")] = (attrs.get("Type", ""), posixpath.normpath(target))

    deque(_parse(archive, path, start), maxlen=0)  # the whole part
    return found


def _office_document(archive: zipfile.ZipFile) -> str:
    relations = _relations(archive, "")  # the package's own: _rels/.rels
    for kind, path in relations.values():
        if kind.endswith("/officeDocument"):
            return path
    return "xl/workbook.xml"


def _workbook(archive: zipfile.ZipFile, path: str) -> tuple[list, bool]:
    """The sheets' names and relationship ids, and whether dates count from 1904."""
    sheets: list[tuple[str, str]] = []
    date1904 = [False]

    def start(tag, attrs):
        tag = _local(tag)
        if tag == "sheet":
            rid = next((value for key, value in attrs.items() if _local(key) == "id"), "")
            sheets.append((attrs.get("name", ""), rid))
        elif tag == "workbookPr":
            date1904[0] = attrs.get("date1904", "0").lower() in ("1", "true")

    deque(_parse(archive, path, start), maxlen=0)  # the whole part
    return sheets, date1904[0]


class _Strings:
    """The shared strings, as one UTF-8 buffer and where each ends; read by expat through this
    object's handlers (a string's text is its runs' text, without phonetic guides)."""

    def __init__(self):
        self.buffer = bytearray()
        self.ends = array("Q")
        self.text: str | None = None  # inside <si>
        self.in_text = False  # inside one of its <t>
        self.phonetic = 0

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, index: int) -> str:
        start = self.ends[index - 1] if index else 0
        return self.buffer[start : self.ends[index]].decode()

    def start(self, tag, attrs):
        if ":" in tag:
            tag = _local(tag)
        if tag == "t":
            self.in_text = self.text is not None and not self.phonetic
        elif tag == "si":
            self.text = ""
        elif tag == "rPh":
            self.phonetic += 1

    def end(self, tag):
        if ":" in tag:
            tag = _local(tag)
        if tag == "t":
            self.in_text = False
        elif tag == "si":
            self.buffer += self.text.encode()
            self.ends.append(len(self.buffer))
            self.text = None
        elif tag == "rPh":
            self.phonetic -= 1

    def characters(self, data):
        if self.in_text:
            self.text += data
            if len(self.text) > MAX_CELL_CHARACTERS:
                raise WorkbookProblem(
                    STRING_TOO_LONG.format(number=len(self) + 1, limit=MAX_CELL_CHARACTERS)
                )


def _shared_strings(archive: zipfile.ZipFile, path: str | None) -> _Strings:
    strings = _Strings()
    if path is not None and path in archive.NameToInfo:
        reading = _parse(archive, path, strings.start, strings.end, strings.characters)
        deque(reading, maxlen=0)  # the whole part
    return strings


def _date_styles(archive: zipfile.ZipFile, path: str | None) -> frozenset[int]:
    """The cell styles (indexes into cellXfs) whose number format shows a date or a time."""
    if path is None or path not in archive.NameToInfo:
        return frozenset()
    codes: dict[int, str] = {}
    formats: list[int] = []
    inside = {"numFmts": False, "cellXfs": False}  # (a conditional format has its own numFmt)

    def start(tag, attrs):
        tag = _local(tag)
        if tag == "numFmt" and inside["numFmts"]:
            codes[_int(attrs.get("numFmtId"))] = attrs.get("formatCode", "")
        elif tag == "xf" and inside["cellXfs"]:
            formats.append(_int(attrs.get("numFmtId")))
        elif tag in inside:
            inside[tag] = True

    def end(tag):
        tag = _local(tag)
        if tag in inside:
            inside[tag] = False

    deque(_parse(archive, path, start, end), maxlen=0)  # the whole part
    return frozenset(
        style
        for style, format_id in enumerate(formats)
        if (format_id in _DATE_FORMAT_IDS and format_id not in codes)
        or _is_date_format(codes.get(format_id, ""))
    )


def _is_date_format(code: str) -> bool:
    shown = _NOT_DATE_PARTS.sub("", code.split(";")[0]).lower()
    return shown != "general" and any(part in shown for part in "ymdhs")


def _int(text) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return -1


# The sheet ------------------------------------------------------------------------------------


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_DIGITS = "0123456789"
# A cell reference's letters -> its column, 1-based, for every column of a sheet (XFD is 16,384).
_COLUMNS = {_column_letters(number): number for number in range(1, 16_385)}


class SheetRows:
    """A sheet's rows, iterated once; ``consumed`` is how many bytes of its XML (``size``) have
    been read.
    The rows are collected as expat reads the XML (the handlers are this object's methods)."""

    def __init__(self, archive, part: str, strings: _Strings, dates, date1904: bool):
        self.archive, self.part = archive, part
        self.size = _info(archive, part).file_size  # of its XML, for progress
        self.consumed = 0
        self.strings = strings
        self.dates = dates
        self.epoch = _EXCEL_EPOCH[date1904]
        self.done: deque[list | int] = deque()  # rows, and counts of rows left out
        self.row: list | None = None
        self.row_number = 0
        self.column = 0  # the current cell's, 1-based
        self.cell_type = "n"
        self.style = 0
        self.reference = ""
        self.text: str | None = None  # the cell's text while inside <v> or <is><t>
        self.value = None
        self.in_cell = False
        self.phonetic = 0

    def __iter__(self) -> Iterator[list]:
        reading = _parse(self.archive, self.part, self.start, self.end, self.characters)
        for consumed in reading:
            self.consumed = consumed
            while self.done:
                row = self.done.popleft()
                if isinstance(row, int):
                    yield from ([] for _gap in range(row))
                else:
                    yield row

    def start(self, tag, attrs):
        if ":" in tag:
            tag = _local(tag)
        if tag == "c":
            reference = attrs.get("r")
            column = _COLUMNS.get(reference.rstrip(_DIGITS)) if reference else None
            if column is None:  # no reference, or not one of a cell
                column = self.column + 1
                reference = f"{_column_letters(column)}{self.row_number}"
            self.column = column
            self.reference = reference
            self.cell_type = attrs.get("t", "n")
            self.style = _int(attrs.get("s", 0))
            self.value = None
            self.in_cell = True
        elif tag == "v" or (tag == "t" and not self.phonetic):
            self.text = ""
        elif tag == "row":
            number = attrs.get("r")
            number = _int(number) if number is not None else self.row_number + 1
            if number > MAX_ROWS:
                raise WorkbookProblem(TOO_MANY_ROWS.format(limit=MAX_ROWS - 1))
            if number > self.row_number + 1:  # rows the sheet leaves out: empty, counted
                self.done.append(number - self.row_number - 1)
            self.row_number = max(number, self.row_number + 1)
            self.row = []
            self.column = 0
        elif tag == "f" and self.in_cell:  # (conditional formats hold formulas of their own)
            raise WorkbookProblem(FORMULA_CELL.format(cell=self.reference))
        elif tag == "rPh":
            self.phonetic += 1

    def characters(self, data):
        if self.text is not None:
            self.text += data
            if len(self.text) > MAX_CELL_CHARACTERS:
                raise WorkbookProblem(
                    CELL_TOO_LONG.format(cell=self.reference, limit=MAX_CELL_CHARACTERS)
                )

    def end(self, tag):
        if ":" in tag:
            tag = _local(tag)
        if tag == "v":
            self.value = self.text
            self.text = None
        elif tag == "c":
            self.in_cell = False
            self._cell()
        elif tag == "row":
            self.done.append(self.row)
            self.row = None
        elif tag == "t" and self.text is not None:
            self.value = (self.value or "") + self.text
            self.text = None
        elif tag == "rPh":
            self.phonetic -= 1

    def _cell(self):
        value = self.value
        if value is None:
            return  # an empty cell (a style only)
        if self.column > MAX_COLUMNS:
            raise WorkbookProblem(CELL_TOO_FAR.format(cell=self.reference, limit=MAX_COLUMNS))
        kind = self.cell_type
        if kind == "s":
            index = _int(value)
            if not 0 <= index < len(self.strings):
                raise WorkbookProblem(MISSING_STRING.format(cell=self.reference))
            value = self.strings[index]
        elif kind == "n":
            value = self._number(value)
        elif kind == "b":
            value = value.strip() in ("1", "true")
        elif kind == "e":  # an error (#N/A, #REF!...): no value, as Excel's own readers say
            value = ""
        elif kind == "d":
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                pass
        # "inlineStr" and "str" (a formula's text, refused before) are their text
        row = self.row
        if row is None:
            return  # a cell outside any row
        if len(row) < self.column:
            row.extend([""] * (self.column - len(row)))
        row[self.column - 1] = value

    def _number(self, text: str):
        try:
            number = float(text)
        except ValueError:
            return text
        if self.style in self.dates:
            try:
                if self.epoch.year == 1899 and number < 60:  # Excel's 29 February 1900
                    number += 1
                return self.epoch + timedelta(days=number)
            except (OverflowError, ValueError):  # a day number too large, or not a number
                return number
        return number
