"""Shared helpers for the performance pages' tests: a fixed today, reading tables, counting queries."""
from __future__ import annotations

import re
from datetime import date

import pytest

from crm.core import clock

TODAY = date(2026, 6, 15)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    """Every test of the package runs on 15 June 2026 (the bureau's calendar)."""
    monkeypatch.setattr(clock, "today", lambda: TODAY)
    return TODAY


def cells(html: str, row_marker: str) -> dict[str, str]:
    """{data-column: text} of the table row that carries `row_marker` (e.g. 'data-officer="3"')."""
    row = re.search(r"<tr[^>]*" + re.escape(row_marker) + r"[^>]*>(.*?)</tr>", html, re.S)
    assert row, f"no row {row_marker}"
    found = re.findall(r'<td[^>]*data-column="(\w+)"[^>]*>(.*?)</td>', row.group(1), re.S)
    return {column: re.sub(r"<[^>]+>", "", re.sub(r"<span[^>]*>.*?</span>", "", value)).strip()
            for column, value in found}


def worse_columns(html: str, row_marker: str) -> set[str]:
    """The columns marked worse than the median in a row."""
    row = re.search(r"<tr[^>]*" + re.escape(row_marker) + r"[^>]*>(.*?)</tr>", html, re.S).group(1)
    return set(re.findall(r'<td class="[^"]*\bworse\b[^"]*" data-column="(\w+)"', row))
