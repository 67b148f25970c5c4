"""Excel exports: one sheet, bold frozen header, sensible widths; amounts stay numbers."""
from __future__ import annotations

from io import BytesIO
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook
from openpyxl.styles import Font

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # (OWASP's list: tab and CR too)


def _cell(value):
    # A text cell beginning with = + - @ would run as a formula in Excel (CSV/formula injection).
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _fill(ws, headers: list[str], rows) -> None:
    ws.append([str(h) for h in headers])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    widths = [len(str(h)) * 2 + 2 for h in headers]
    for row in rows:
        values = [_cell(v) for v in row]
        ws.append(values)
        for i, v in enumerate(values):
            widths[i] = min(60, max(widths[i], len(str(v)) * 2 if v is not None else 0))
    for i, width in enumerate(widths):
        ws.column_dimensions[ws.cell(row=1, column=i + 1).column_letter].width = max(8, width)


def workbook_sheets_bytes(sheets: list[tuple[str, list[str], list]]) -> bytes:
    """An .xlsx with one sheet per (title, headers, rows): bold frozen header, sensible widths, formula-safe."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, headers, rows in sheets:
        _fill(wb.create_sheet(str(title)[:31]), headers, rows)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def workbook_bytes(sheet_title: str, headers: list[str], rows) -> bytes:
    """An .xlsx with one sheet of `rows` under `headers`."""
    return workbook_sheets_bytes([(sheet_title, headers, rows)])


def xlsx_response(filename: str, sheet_title: str, headers: list[str], rows) -> Response:
    """A download of the workbook (RFC 5987 filename for Chinese names)."""
    body = workbook_bytes(sheet_title, headers, rows)
    disposition = f"attachment; filename=export.xlsx; filename*=UTF-8''{quote(filename)}"
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": disposition})
