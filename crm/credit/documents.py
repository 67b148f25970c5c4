"""The list file: reading an uploaded .xlsx of a negative list safely, and the empty template.

Headers are matched by name in any order, in Chinese or English (统一社会信用代码 / USCC, 企业名称, 列入日期,
列入原因), after the imports' normalisation (crm.io.forms: full-width forms, spaces, a note in brackets such as
“（必填）”); the header row may sit below a title row. Each row is checked by EntryRowForm (the USCC's check digit,
the date, the lengths); a file that cannot be read at all raises FileRefused.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from io import BytesIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from crm.credit.forms import EntryRowForm
from crm.io.documents import (
    HEADER_SEARCH_ROWS,
    MAX_CELL_CHARS,
    MAX_UNZIPPED,
    MAX_ZIP_ENTRIES,
    FileRefused,
    example_uscc,
    sniff_format,
)
from crm.io.forms import USCC, Column, normalize_header, normalize_word

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
COLUMNS = (
    USCC,
    Column("name", _l("Enterprise name"), ("企业名称", "单位名称", "企业", "主体名称", "市场主体名称", "名称")),
    Column("listed_on", _l("Listed on"), ("列入日期", "列入时间", "认定日期", "date listed"), type="date"),
    Column("reason", _l("Reason for listing"), ("列入原因", "列入事由", "失信原因", "事故原因", "reason")),
)
TEMPLATE_HEADERS = ["统一社会信用代码", "企业名称", "列入日期", "列入原因"]


@dataclass
class ListRows:
    """What a file holds: the rows accepted (by field), the rows rejected (sheet row number, reason)."""

    rows: list[tuple[int, dict]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    skipped_example: int = 0


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileRefused(_l("The file is damaged or not an Excel workbook (.xlsx).")) from None
    if "xl/workbook.xml" not in {i.filename for i in infos}:
        raise FileRefused(_l("The file is a ZIP archive but not an Excel workbook (.xlsx)."))
    if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > MAX_UNZIPPED:
        raise FileRefused(_l("The workbook unpacks to far more data than a spreadsheet of this size holds; "
                             "it was not opened."))


def _mapping(values: tuple) -> dict[str, int]:
    """{field: column index} of a candidate header row (empty when it names no USCC column)."""
    by_name = {name: column.field for column in COLUMNS for name in column.names()}
    mapping: dict[str, int] = {}
    for index, value in enumerate(values):
        if isinstance(value, str):
            word = normalize_header(value)
            name = by_name.get(word) or by_name.get(re.sub(r"\(.*\)$", "", word))  # “（必填）” and such
            if name is not None and name not in mapping:
                mapping[name] = index
    return mapping if "uscc" in mapping else {}


def read_list(data: bytes) -> ListRows:
    """The rows of an uploaded list (FileRefused when the file cannot be read or has no USCC column)."""
    from openpyxl import load_workbook

    from crm.io.services import cell_text

    if not data:
        raise FileRefused(_l("The file is empty."))
    if len(data) > MAX_BYTES:
        raise FileRefused(_l("The file is larger than %(mb)s MB; split it into several files.", mb=10))
    if sniff_format(data[:8192]) != "xlsx":
        raise FileRefused(_l("Upload the list as an Excel (.xlsx) file."))
    _check_zip(data)
    try:
        wb = load_workbook(BytesIO(data), read_only=True, data_only=False)  # formulas as text: refused
        rows = wb.worksheets[0].iter_rows(values_only=True)
    except Exception:  # noqa: BLE001 - a damaged file is the user's to fix, not a 500
        raise FileRefused(_l("The file cannot be read as an Excel workbook.")) from None
    out, seen, example = ListRows(), {}, example_uscc()
    types = {c.field: c.type for c in COLUMNS}
    try:
        mapping: dict[str, int] = {}
        header_row = 0
        for header_row, values in enumerate(rows, start=1):
            mapping = _mapping(values or ())
            if mapping or header_row >= HEADER_SEARCH_ROWS:
                break
        if not mapping:
            raise FileRefused(_l("No header row found in the first %(n)s rows: one row must name the column "
                                 "统一社会信用代码 (USCC).", n=HEADER_SEARCH_ROWS))
        for number, values in enumerate(rows, start=header_row + 1):
            if len(out.rows) + len(out.rejected) >= MAX_ROWS:
                raise FileRefused(_l("At most %(n)d rows at a time.", n=MAX_ROWS))
            if not values or all(v in (None, "") for v in values):
                continue
            formdata, problem = MultiDict(), None
            for name, index in mapping.items():
                value = values[index] if index < len(values) else None
                if isinstance(value, str) and value.startswith("="):
                    problem = _("Formulas are not imported; paste the values only.")
                elif isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                    problem = _("The cell holds more than %(n)s characters.", n=MAX_CELL_CHARS)
                formdata[name] = cell_text(value, types[name])
            if problem:
                out.rejected.append((number, problem))
                continue
            if normalize_word(formdata.get("uscc", "")).upper() == example:
                out.skipped_example += 1
                continue
            form = EntryRowForm(formdata=formdata)
            if not form.validate():
                out.rejected.append((number, "；".join(f"{form[name].label.text}: {m}"
                                                      for name, messages in form.errors.items() for m in messages)))
                continue
            code = form.uscc.data
            if code in seen:
                out.rejected.append((number, _("The same USCC is on row %(row)d.", row=seen[code])))
                continue
            seen[code] = number
            out.rows.append((number, {"uscc": code, "name": form.name.data or "", "listed_on": form.listed_on.data,
                                      "reason": form.reason.data or ""}))
    finally:
        wb.close()
    return out


def template_bytes() -> bytes:
    """An empty list with one example row (skipped by the import): the columns the import reads."""
    from crm.core.xlsx import workbook_bytes

    return workbook_bytes(_("Negative list"), TEMPLATE_HEADERS,
                          [[example_uscc(), _("Example Co., Ltd. (example, skipped)"), "2026-01-15",
                            _("Reason as given by the issuing body")]])
