"""Spreadsheets as bureaus really send them, built for the tests: a title row above the headers, headers in
another order with full-width brackets, units and stray spaces, numbers as text with thousands separators,
dates as Excel dates and as text in three spellings, USCCs in lower case with spaces, a blank row, a total row."""
from __future__ import annotations

import csv
import io
from datetime import datetime

from openpyxl import Workbook

from crm.core.uscc import check_digit


def valid_uscc(n: int, region: str = "640104") -> str:
    body = f"91{region}MA{n:07d}"
    return body + check_digit(body)


def xlsx(rows: list[list], *, title: str | None = None, sheet: str = "Sheet1") -> bytes:
    """An .xlsx whose first sheet holds an optional title row, then `rows` (the header first)."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(2, len(rows[0])))
        ws.append([])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def last_years_enterprises(region_code: str = "640104", park: str = "6401P1") -> tuple[bytes, dict]:
    """The manager's real-looking list of enterprises; returns the file and what each row should become.

    Sheet rows: 1 title, 2 blank, 3 headers, 4… data (so the first data row is row 4).
    """
    good1, good2, good3, bad_check = valid_uscc(9001), valid_uscc(9002), valid_uscc(9003), valid_uscc(9004)
    bad_check = bad_check[:-1] + ("0" if bad_check[-1] != "0" else "1")
    headers = ["序号", " 企业名称 ", "统一社会信用代码", "所属区县代码", "园区", "成立日期", "行业代码",
               "技术领域", "是否规上", "注册地址", "备注"]
    rows = [
        headers,
        [1, "宁夏甲科技有限公司", good1.lower()[:9] + " " + good1.lower()[9:], region_code, None,
         datetime(2016, 5, 18), "c3511", "先进制造与自动化", "是", "银川市兴庆区甲路1号", "重点"],
        [2, "宁夏乙材料有限公司", "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in good2), region_code,
         park, "2018年3月12日", "C2651", "新材料", "否", None, None],
        [3, "宁夏丙生物有限公司", good3, region_code, None, "2019/7/1", "C2710", "biomedicine", None, None, None],
        [],
        [5, "宁夏丁电子有限公司", bad_check, region_code, None, "20200101", "C3911", "电子信息", "是", None, None],
        [6, "宁夏戊有限公司", valid_uscc(9005), "999999", None, None, "C35", "不存在的领域", "也许", None, None],
        [None, "合计", None, None, None, None, None, None, None, None, None],
    ]
    expected = {"created": {good1, good2, good3},
                "rejected_rows": {8: "统一社会信用代码", 9: None, 10: None}}
    return xlsx(rows, title="2024年度科技型企业名单（兴庆区）"), expected
