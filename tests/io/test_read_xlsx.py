"""The import's own .xlsx reader (crm.io.documents._Sheet) gives the values openpyxl's read-only mode gives, row by
row, for the kinds of workbook bureaus send and the exports write: shared and inline strings, rich text, numbers,
booleans, dates by built-in and custom formats (and the 1904 calendar), times, formulas, gaps in rows and cells."""
from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from crm.io.documents import FileRefused, _Sheet, read_table
from tests.io.sheets import last_years_enterprises


def _openpyxl_rows(path):
    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        return [(n, _trim(values)) for n, values in enumerate(wb.worksheets[0].iter_rows(values_only=True), 1)]
    finally:
        wb.close()


def _trim(values) -> tuple:
    values = list(values)
    while values and values[-1] is None:
        values.pop()
    return tuple(values)


def _ours(path):
    sheet = _Sheet(path)
    try:
        return [(n, _trim(values)) for n, values in sheet.rows()]
    finally:
        sheet.close()


def _rich_workbook(write_only: bool, date1904: bool = False) -> bytes:
    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet("名单") if write_only else wb.active
    if date1904:
        wb.epoch = CALENDAR_MAC_1904
    rows = [
        ["2024年度名单"],
        [],
        ["企业名称", "统一社会信用代码", "成立日期", "营业收入（万元）", "是否规上", "职工", "备注"],
        ["宁夏甲公司", "91640104MA0000001H", datetime(2016, 5, 18), 3200.5, True, 85, "=HYPERLINK(\"x\")"],
        ["  乙  ", "９１６４", date(2018, 3, 12), -20, False, 0, "=SUM(F4:F5)"],
        ["丙", None, None, 1e15, None, 12345678901, "'=不是公式"],
        [None, "", "2019/7/1", Decimal("1234.56"), "是", None, "x" * 300],
        ["时间", time(9, 30), datetime(2024, 1, 1, 8, 0), timedelta(hours=5), 0.1, 3, None],
    ]
    for row in rows:
        ws.append(row)
    if not write_only:
        ws["H4"] = CellRichText([TextBlock(InlineFont(b=True), "加粗"), "普通"])
        ws["J9"] = "远处的格"
        ws["C5"].number_format = "yyyy年m月d日"
        ws["A12"] = "隔了几行"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize("write_only", [False, True])
@pytest.mark.parametrize("date1904", [False, True])
def test_the_reader_reads_what_openpyxl_reads(tmp_path, write_only, date1904):
    path = tmp_path / "w.xlsx"
    path.write_bytes(_rich_workbook(write_only, date1904))
    assert _ours(path) == _openpyxl_rows(path)


def test_the_ugly_spreadsheet_reads_the_same(tmp_path):
    data, _ = last_years_enterprises()
    path = tmp_path / "ugly.xlsx"
    path.write_bytes(data)
    ours = _ours(path)
    assert ours == _openpyxl_rows(path)
    assert ours[3][1][1] == "宁夏甲科技有限公司" and ours[3][1][5] == datetime(2016, 5, 18)


def test_the_table_knows_its_size_with_or_without_a_dimension(tmp_path):
    for write_only in (False, True):
        path = tmp_path / f"w{write_only}.xlsx"
        wb = Workbook(write_only=write_only)
        ws = wb.create_sheet() if write_only else wb.active
        ws.append(["统一社会信用代码", "年度", "营业收入"])
        for i in range(25):
            ws.append(["91640104MA0000001H", 2020, i])
        wb.save(path)
        table = read_table(path, "figures")
        try:
            assert table.header_row == 1 and table.total_hint == 25
            assert sum(1 for _ in table.rows) == 25
        finally:
            table.close()


def test_a_damaged_sheet_is_refused(tmp_path):
    import zipfile

    good = tmp_path / "good.xlsx"
    good.write_bytes(_rich_workbook(False))
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("xl/worksheets/"):
                data = data[: len(data) // 2]  # cut off in the middle of the rows
            dst.writestr(info, data)
    with pytest.raises(FileRefused):
        table = read_table(bad, "enterprises")
        list(table.rows)
