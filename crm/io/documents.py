"""Files in and out: reading an uploaded workbook or CSV safely, the import templates, the exports.

Reading never trusts the file's name: the first bytes decide (an .xlsx is a ZIP holding a workbook;
an old .xls, a PDF or an image is refused with a plain reason), a ZIP whose entries would unpack to
more than MAX_UNZIPPED bytes is refused before it is opened (a zip bomb), the first sheet's XML is streamed row by
row (_Sheet: the values openpyxl's read-only mode gives, faster; formulas come back as their text "=…", and the
import refuses them),
and a CSV is decoded as UTF-8 (with or without BOM) or GB18030, the two encodings Excel writes.

Exports stream through openpyxl's write-only mode (50,000 rows in seconds, little memory); every
text cell that would start a formula (= + - @) is written with a leading apostrophe, as in
crm.core.xlsx, so a name such as "=HYPERLINK(…)" stays text in Excel.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.xml.functions import fromstring, iterparse  # defusedxml when installed, as openpyxl reads

from crm.core.uscc import check_digit
from crm.core.xlsx import FORMULA_START
from crm.io.forms import COLUMNS, YES_WORDS, Column, normalize_header

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UNZIPPED = 300 * 1024 * 1024  # what an .xlsx may unpack to, all entries together
MAX_ZIP_ENTRIES = 2000
MAX_CELL_CHARS = 2000  # longer text in a cell rejects its row (no field of ours holds more than 255)
HEADER_SEARCH_ROWS = 10  # the header row is looked for among the first rows (a title row may sit above it)
# The templates' example rows carry this USCC (valid, recognisable); the import skips them.
EXAMPLE_USCC_BODY = "91640106MA0000000"


def example_uscc() -> str:
    """The USCC of the templates' example rows (valid per GB 32100; rows carrying it are skipped)."""
    return EXAMPLE_USCC_BODY + check_digit(EXAMPLE_USCC_BODY)


class FileRefused(Exception):
    """The file cannot be read at all (wrong type, damaged, too large, no header row): nothing is imported."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass
class Table:
    """A sheet as the import sees it: its header row and the data rows after it, with their sheet row numbers."""

    file_format: str
    headers: list[str]
    header_row: int
    rows: Iterator[tuple[int, tuple]]
    total_hint: int | None = None  # the sheet's own row count when it says (for progress), else None
    closers: list = field(default_factory=list)

    def close(self) -> None:
        """Release the workbook's file handle."""
        for closer in self.closers:
            try:
                closer()
            except Exception:  # noqa: BLE001, S110 - closing is best effort
                pass


def sniff_format(head: bytes) -> str:
    """'xlsx' or 'csv' from the first bytes; FileRefused for anything else."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(_l("This is an old Excel 97–2003 (.xls) file. Open it in Excel and save it as .xlsx."))
    if head.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"Rar!", b"7z")):
        raise FileRefused(_l("This is not an Excel workbook (.xlsx) or a CSV file."))
    if b"\x00" in head:
        raise FileRefused(_l("This is not an Excel workbook (.xlsx) or a CSV file."))
    return "csv"


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileRefused(_l("The file is damaged or not an Excel workbook (.xlsx).")) from None
    if "xl/workbook.xml" not in names:
        raise FileRefused(_l("The file is a ZIP archive but not an Excel workbook (.xlsx)."))
    if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > MAX_UNZIPPED:
        raise FileRefused(_l("The workbook unpacks to far more data than a spreadsheet of this size holds; "
                             "it was not opened."))


def _header_index(kind: str, values: tuple) -> int:
    """How many cells of a row are headers of `kind` (to find the header row)."""
    names = set().union(*(c.names() for c in COLUMNS[kind]))
    return sum(1 for v in values if isinstance(v, str) and normalize_header(v) in names)


def _find_header(kind: str, rows: Iterator[tuple[int, tuple]]) -> tuple[int, list[str]]:
    for _i, (number, values) in zip(range(HEADER_SEARCH_ROWS), rows, strict=False):
        if _header_index(kind, values) >= 2:
            return number, [("" if v is None else str(v)).strip() for v in values]
    raise FileRefused(_l("No header row found in the first %(n)s rows: the column names must be in one row "
                         "(download the template to see them).", n=HEADER_SEARCH_ROWS))


def read_table(path: Path, kind: str, file_format: str | None = None) -> Table:
    """Open a saved upload of `kind` and position it after its header row (FileRefused when it cannot be read)."""
    path = Path(path)
    with path.open("rb") as f:
        head = f.read(8192)
    if not head:
        raise FileRefused(_l("The file is empty."))
    fmt = sniff_format(head)
    if file_format and fmt != file_format:
        raise FileRefused(_l("The file's content does not match its type."))
    if fmt == "xlsx":
        return _read_xlsx(path, kind)
    return _read_csv(path, kind)


def _read_xlsx(path: Path, kind: str) -> Table:
    _check_zip(path)
    try:
        sheet = _Sheet(path)
    except Exception:  # noqa: BLE001 - a damaged workbook raises many kinds
        raise FileRefused(_l("The file is damaged or not an Excel workbook (.xlsx).")) from None
    iterator = sheet.rows()
    try:
        header_row, headers = _find_header(kind, iterator)
    except FileRefused:
        sheet.close()
        raise
    total = max(0, sheet.max_row - header_row) or None if sheet.max_row else None
    return Table("xlsx", headers, header_row, iterator, total, [sheet.close])


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_ROW, _CELL, _VALUE, _FORMULA, _INLINE = (f"{_MAIN}{t}" for t in ("row", "c", "v", "f", "is"))
_TEXT, _RUN, _DIMENSION = f"{_MAIN}t", f"{_MAIN}r", f"{_MAIN}dimension"
_COLUMNS: dict[str, int] = {}


def _column_index(letters: str) -> int:
    index = _COLUMNS.get(letters)
    if index is None:
        index = 0
        for ch in letters:
            index = index * 26 + ord(ch) - 64
        _COLUMNS[letters] = index
    return index


def _rich_text(element) -> str:
    """The text of a string item (<si> or <is>): its <t>, or its runs' <t>, without phonetic hints (as openpyxl)."""
    parts = [child.text or "" for child in element if child.tag == _TEXT]
    for run in element.iterfind(_RUN):
        t = run.find(_TEXT)
        if t is not None and t.text:
            parts.append(t.text)
    return "".join(parts)


def _number(text: str):
    return float(text) if ("." in text or "E" in text or "e" in text) else int(text)


class _Sheet:
    """The first worksheet of an .xlsx read straight from its XML, row by row, with the values openpyxl's
    read-only mode gives (shared and inline strings, numbers, booleans, dates by the cells' number formats,
    formulas as their text "=…"), several times faster: openpyxl builds an object per inline string and parses a
    sheet without a <dimension> twice. Rows come numbered as in the sheet, missing ones as empty rows."""

    def __init__(self, path: Path):
        from openpyxl.styles.stylesheet import Stylesheet
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

        self.zip = zipfile.ZipFile(path)
        try:
            workbook = fromstring(self.zip.read("xl/workbook.xml"))
            rels = fromstring(self.zip.read("xl/_rels/workbook.xml.rels"))
            targets = {r.get("Id"): (r.get("Target"), r.get("Type", "")) for r in rels.iter(f"{_PACKAGE_REL}Relationship")}
            self.path = None
            for sheet in workbook.iter(f"{_MAIN}sheet"):
                target, kind = targets.get(sheet.get(f"{_REL}id"), (None, ""))
                if target and kind.endswith("/worksheet"):
                    self.path = target.lstrip("/") if target.startswith("/") else "xl/" + target
                    break
            if self.path is None:
                raise KeyError("no worksheet")
            props = workbook.find(f"{_MAIN}workbookPr")
            date1904 = props is not None and props.get("date1904", "").lower() in ("1", "true")
            self.epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
            names = set(self.zip.namelist())
            self.strings: list[str] = []
            if "xl/sharedStrings.xml" in names:
                with self.zip.open("xl/sharedStrings.xml") as src:
                    for _event, element in iterparse(src):
                        if element.tag == f"{_MAIN}si":
                            self.strings.append(_rich_text(element).replace("x005F_", ""))
                            element.clear()
            self.dates: set[int] = set()
            self.timedeltas: set[int] = set()
            if "xl/styles.xml" in names:
                styles = Stylesheet.from_tree(fromstring(self.zip.read("xl/styles.xml")))
                self.dates, self.timedeltas = set(styles.date_formats), set(styles.timedelta_formats)
            self.max_row = self._size()
        except Exception:
            self.zip.close()
            raise

    def _size(self) -> int | None:
        """The sheet's last row as its <dimension> says, else counted from its row tags (for progress only)."""
        with self.zip.open(self.path) as src:
            head = src.read(4096)
        found = re.search(rb'<(?:\w+:)?dimension\s+ref="[A-Z]*\d+(?::[A-Z]*(\d+))?"', head)
        if found and found.group(1):
            return int(found.group(1))
        count, tail = 0, b""
        with self.zip.open(self.path) as src:
            while chunk := src.read(1 << 20):
                data = tail + chunk
                count += data.count(b"<row ") + data.count(b"<row>")
                tail = data[-5:]
                count -= tail.count(b"<row ") + tail.count(b"<row>")
        return count or None

    def close(self) -> None:
        self.zip.close()

    def rows(self) -> Iterator[tuple[int, tuple]]:
        try:
            yield from self._rows()
        except FileRefused:
            raise
        except Exception:  # noqa: BLE001 - a damaged sheet part
            raise FileRefused(_l("The file is damaged or not an Excel workbook (.xlsx).")) from None

    def _rows(self) -> Iterator[tuple[int, tuple]]:
        from openpyxl.utils.datetime import from_excel, from_ISO8601

        strings, dates, timedeltas, epoch = self.strings, self.dates, self.timedeltas, self.epoch
        expected = 1
        with self.zip.open(self.path) as src:
            for _event, row in iterparse(src):
                if row.tag != _ROW:
                    continue
                r = row.get("r")
                number = int(r) if r else expected
                while expected < number:  # rows the sheet leaves out are empty rows
                    yield expected, ()
                    expected += 1
                expected = number + 1
                values: list = []
                for cell in row:
                    if cell.tag != _CELL:
                        continue
                    ref = cell.get("r")
                    if ref:
                        column = _column_index(ref.rstrip("0123456789"))
                        if column > len(values) + 1:
                            values.extend([None] * (column - 1 - len(values)))
                    kind = cell.get("t", "n")
                    formula = cell.find(_FORMULA)
                    if formula is not None:
                        value = "=" + (formula.text or "")
                    elif kind == "inlineStr":
                        inline = cell.find(_INLINE)
                        value = _rich_text(inline) if inline is not None else None
                    else:
                        value = cell.findtext(_VALUE) or None
                        if value is not None:
                            if kind == "n":
                                value = _number(value)
                                style = cell.get("s")
                                if style and int(style) in dates:
                                    try:
                                        value = from_excel(value, epoch, timedelta=int(style) in timedeltas)
                                    except (OverflowError, ValueError):
                                        value = "#VALUE!"
                            elif kind == "s":
                                value = strings[int(value)]
                            elif kind == "b":
                                value = bool(int(value))
                            elif kind == "d":
                                value = from_ISO8601(value)
                    values.append(value)
                row.clear()
                yield number, tuple(values)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRefused(_l("The CSV file is neither UTF-8 nor GB18030 text."))


def _read_csv(path: Path, kind: str) -> Table:
    text = _decode(path.read_bytes())
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ("；" if first.count("；") > first.count(",")
                                                                     else ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows() -> Iterator[tuple[int, tuple]]:
        number = 0
        try:
            for values in reader:
                number += 1
                yield number, tuple(values)
        except csv.Error:
            raise FileRefused(_l("The CSV file is malformed near row %(row)s.", row=number + 1)) from None

    iterator = rows()
    header_row, headers = _find_header(kind, iterator)
    return Table("csv", headers, header_row, iterator, max(0, text.count("\n") - header_row) or None)


# --- writing -----------------------------------------------------------------------------------------------

def safe_cell(value):
    """A value as written to a cell: text that would start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


def write_workbook(out, sheet_title: str, headers: list[str], rows: Iterable[Iterable], *,
                   widths: list[int] | None = None) -> int:
    """Stream `rows` under a bold, frozen header into an .xlsx at `out` (path or file); returns the row count."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet_title[:31] or "Sheet1")
    ws.freeze_panes = "A2"
    for i, header in enumerate(headers, 1):
        ws.column_dimensions[get_column_letter(i)].width = (widths[i - 1] if widths else
                                                            max(10, min(40, len(str(header)) * 2 + 4)))
    from openpyxl.cell import WriteOnlyCell

    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(ws, value=str(header))
        cell.font = Font(bold=True)
        header_cells.append(cell)
    ws.append(header_cells)
    count = 0
    for row in rows:
        ws.append([safe_cell(v) for v in row])
        count += 1
    wb.save(out)
    return count


def workbook_bytes(sheet_title: str, headers: list[str], rows: Iterable[Iterable]) -> bytes:
    """The .xlsx of write_workbook as bytes (for a download)."""
    buffer = io.BytesIO()
    write_workbook(buffer, sheet_title, headers, rows)
    return buffer.getvalue()


def cell_value(column: Column, value):
    """A model value as an export writes it: dates as dates, amounts as numbers, code lists as labels, 是/否."""
    if value is None:
        return None
    if column.type == "bool":
        return _("Yes") if value else _("No")
    if column.type == "choice" and column.choices:
        label = {str(k): v for k, v in column.choices.items()}.get(str(value))
        return str(label) if label is not None else value
    if isinstance(value, Decimal):
        return value
    return value


# --- the templates ---------------------------------------------------------------------------------------

_REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")


def template_bytes(kind: str, regions: list[tuple[str, str]], parks: list[tuple[str, str]], *,
                   rows: list[dict] | None = None, lines: list | None = None) -> bytes:
    """The import template of `kind`: headers in the user's language (required ones starred), an example row,
    drop-down lists for the code-list columns (on a hidden sheet) and a notes sheet explaining every column.

    `rows` ({field: value}) are written instead of the example row (an info column is included when they fill
    it, e.g. the enterprise's name), and `lines` replace the notes' general lines (the portal's own template).
    """
    columns = [c for c in COLUMNS[kind] if not c.info or any(r.get(c.field) not in (None, "") for r in rows or [])]
    wb = Workbook()
    ws = wb.active
    ws.title = _("Data")[:31]
    lists = wb.create_sheet(_("Lists")[:31])
    notes = wb.create_sheet(_("Notes")[:31])
    headers = [("*" if c.required else "") + _header_text(c) for c in columns]
    ws.append(headers)
    for i, column in enumerate(columns, 1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True)
        if column.required:
            cell.fill = _REQUIRED_FILL
        ws.column_dimensions[get_column_letter(i)].width = max(12, min(40, len(headers[i - 1]) * 2 + 4))
    if rows is None:
        example = []
        for column in columns:
            value = column.example
            if column.field == "uscc":
                value = example_uscc()
            elif column.type == "choice" and column.choices and value:
                value = _choice_label(column, str(value))
            elif column.type == "bool" and value:
                value = _("Yes") if str(value) in YES_WORDS else _("No")
            example.append(str(value) if value not in (None, "") else None)
        ws.append(example)
    for row in rows or []:
        ws.append([safe_cell(row.get(column.field)) for column in columns])
    ws.freeze_panes = "A2"
    # the code lists, one column each on the hidden sheet, and a drop-down on the data column
    list_col = 0
    for i, column in enumerate(columns, 1):
        values = _list_values(column, regions, parks)
        if not values:
            continue
        list_col += 1
        letter = get_column_letter(list_col)
        lists.cell(row=1, column=list_col, value=_header_text(column)).font = Font(bold=True)
        for r, value in enumerate(values, 2):
            lists.cell(row=r, column=list_col, value=value)
        dv = DataValidation(type="list", formula1=f"='{lists.title}'!${letter}$2:${letter}${len(values) + 1}",
                            allow_blank=not column.required, showErrorMessage=column.type != "region")
        dv.error = _("Choose a value from the list.")
        ws.add_data_validation(dv)
        dv.add(f"{get_column_letter(i)}2:{get_column_letter(i)}100000")
    lists.sheet_state = "hidden"
    # the notes
    notes.append([_("Column"), _("Required"), _("What to enter")])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in columns:
        notes.append([_header_text(column), _("Yes") if column.required else _("No"), str(column.note)])
    notes.append([])
    if lines is None:
        lines = [_("Amounts are in 10k CNY (万元)."),
                 _("Headers are matched by name in any order; a unit such as （万元） after a name is fine."),
                 _("Rows are matched by the unified social credit code (and the year for figures): a known one "
                   "is updated, a new one created; a column left out of the file leaves that field as it is."),
                 _("The example row (unified social credit code %(uscc)s) is skipped.", uscc=example_uscc()),
                 _("Formulas are not imported: paste values only.")]
    for line in lines:
        notes.append([str(line)])
    notes.column_dimensions["A"].width = 30
    notes.column_dimensions["B"].width = 10
    notes.column_dimensions["C"].width = 90
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _header_text(column: Column) -> str:
    text = str(column.label)
    if column.type == "amount":
        return text + _("(10k CNY)")
    return text


def _choice_label(column: Column, code: str) -> str:
    for key, label in (column.choices or {}).items():
        if str(key) == code or str(label) == code:
            return str(label)
    return code


def _list_values(column: Column, regions, parks) -> list[str]:
    if column.type == "choice" and column.choices:
        return [str(label) for label in column.choices.values()]
    if column.type == "bool":
        return [_("Yes"), _("No")]
    if column.type == "region":
        return [code for code, _name in regions]
    if column.type == "park":
        return [code for code, _name in parks]
    return []


def export_headers(columns: Iterable[Column]) -> list[str]:
    """Header texts of an export in the user's language (amounts marked as 万元)."""
    return [_header_text(c) for c in columns]


def as_date(value) -> date | None:
    """A date from a date or datetime (exports write plain dates)."""
    if isinstance(value, datetime):
        return value.date()
    return value
