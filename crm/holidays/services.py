"""Writes of the working-day calendar: add or remove a date, import a year from Excel/CSV (validate, flush,
audit; callers commit). The arithmetic is crm.core.workdays."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from crm.core import audit
from crm.core.validation import ValidationFailed
from crm.core.workdays import CalendarDay, DayKind
from crm.extensions import db

IMPORT_MAX_BYTES = 1024 * 1024
IMPORT_MAX_ROWS = 400
# header names accepted (Chinese or English), matched without spaces and case
HEADERS = {"date": ("日期", "date"), "kind": ("类型", "kind", "type"), "name": ("名称", "name", "节日", "说明")}
KIND_WORDS = {"holiday": DayKind.HOLIDAY, "放假": DayKind.HOLIDAY, "休": DayKind.HOLIDAY, "假": DayKind.HOLIDAY,
              "节假日": DayKind.HOLIDAY, "off": DayKind.HOLIDAY, "workday": DayKind.WORKDAY, "上班": DayKind.WORKDAY,
              "班": DayKind.WORKDAY, "调休上班": DayKind.WORKDAY, "work": DayKind.WORKDAY}


def _check(day: date, kind: str) -> None:
    if kind not in (DayKind.HOLIDAY, DayKind.WORKDAY):
        raise ValidationFailed.one("kind", _l("Choose a holiday or a make-up working day."))
    if kind == DayKind.WORKDAY and day.weekday() < 5:
        raise ValidationFailed.one("day", _l("A make-up working day falls on a Saturday or Sunday."))


def add_day(data: dict, *, actor) -> CalendarDay:
    """Mark a date a public holiday or a make-up working day (one entry per date)."""
    day, kind, name = data["day"], data["kind"], (data.get("name") or "").strip()[:40]
    _check(day, kind)
    if db.session.scalar(select(CalendarDay.id).where(CalendarDay.day == day)) is not None:
        raise ValidationFailed.one("day", _l("This date is in the calendar already; remove it first."))
    entry = CalendarDay(day=day, kind=kind, name=name)
    db.session.add(entry)
    db.session.flush()
    audit.record(db.session, "create", entry, actor=actor, changes=audit.snapshot(entry, ["day", "kind", "name"]),
                 summary=f"{day.isoformat()} {name}")
    return entry


def delete_day(entry: CalendarDay, *, actor) -> None:
    """Take a date out of the calendar (it becomes an ordinary weekday or weekend day again)."""
    changes = {k: [v, None] for k, (_old, v) in audit.snapshot(entry, ["day", "kind", "name"]).items()}
    audit.record(db.session, "delete", entry, actor=actor, changes=changes,
                 summary=f"{entry.day.isoformat()} {entry.name}")
    db.session.delete(entry)
    db.session.flush()


def _parse_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text) or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _rows(filename: str, content: bytes) -> list[list]:
    """The file's rows as lists of cells: .xlsx by its content (a zip), else CSV in UTF-8 or GB18030."""
    if len(content) > IMPORT_MAX_BYTES:
        raise ValidationFailed.one("file", _l("The file is larger than 1 MB."))
    if content[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError):
            raise ValidationFailed.one("file", _l("The workbook could not be read.")) from None
        ws = wb.worksheets[0]
        return [list(row) for _, row in zip(range(IMPORT_MAX_ROWS + 2), ws.iter_rows(values_only=True), strict=False)]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed.one("file", _l("Save the file as .xlsx or as CSV in UTF-8."))
    return [row for _, row in zip(range(IMPORT_MAX_ROWS + 2), csv.reader(io.StringIO(text)), strict=False)]


def _cell(row: list, columns: dict, key: str):
    i = columns.get(key)
    return row[i] if i is not None and i < len(row) else None


def import_year(year: int, filename: str, content: bytes, *, actor) -> int:
    """Replace the year's calendar with the file's rows (columns 日期/date, 类型/kind: 放假|上班, 名称/name);
    all or nothing: any bad row refuses the file, naming the row. Returns how many dates were written."""
    rows = [r for r in _rows(filename, content) if any(str(c or "").strip() for c in r)]
    if not rows:
        raise ValidationFailed.one("file", _l("The file is empty."))
    header = [re.sub(r"\s+", "", str(c or "")).lower() for c in rows[0]]
    columns = {}
    for key, names in HEADERS.items():
        for i, h in enumerate(header):
            if h in names:
                columns[key] = i
                break
    if "date" not in columns or "kind" not in columns:
        raise ValidationFailed.one("file", _l("The first row must name the columns 日期 (date) and 类型 (kind)."))
    entries, problems, seen = [], [], set()
    for number, row in enumerate(rows[1:], start=2):
        if number > IMPORT_MAX_ROWS + 1:
            problems.append(str(_l("At most %(n)d rows.", n=IMPORT_MAX_ROWS)))
            break
        day = _parse_date(_cell(row, columns, "date"))
        kind = KIND_WORDS.get(str(_cell(row, columns, "kind") or "").strip().lower())
        if day is None:
            problems.append(str(_l("Row %(row)d: not a date.", row=number)))
            continue
        if day.year != year:
            problems.append(str(_l("Row %(row)d: %(day)s is not in %(year)d.", row=number, day=day.isoformat(),
                                   year=year)))
            continue
        if kind is None:
            problems.append(str(_l("Row %(row)d: the kind is 放假 (holiday) or 上班 (make-up working day).",
                                   row=number)))
            continue
        if kind == DayKind.WORKDAY and day.weekday() < 5:
            problems.append(str(_l("Row %(row)d: a make-up working day falls on a Saturday or Sunday.", row=number)))
            continue
        if day in seen:
            problems.append(str(_l("Row %(row)d: %(day)s appears twice.", row=number, day=day.isoformat())))
            continue
        seen.add(day)
        entries.append(CalendarDay(day=day, kind=kind, name=str(_cell(row, columns, "name") or "").strip()[:40]))
    if problems:
        raise ValidationFailed({"file": problems[:20]})
    removed = db.session.execute(delete(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))).rowcount
    db.session.add_all(entries)
    db.session.flush()
    audit.record(db.session, "import", CalendarDay(), actor=actor,
                 changes={"year": [None, year], "removed": [None, removed], "written": [None, len(entries)],
                          "file": [None, filename[:120]]}, summary=f"{year}")
    return len(entries)
