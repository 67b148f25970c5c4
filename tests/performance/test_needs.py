"""Needs analytics (/performance/needs): counts by category × month, resolution, days to close, departments,
satisfaction on a hand-built dataset; scope, years, export, query count, empty years."""
from __future__ import annotations

import re
from datetime import date, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook

from tests import factories
from tests.helpers import count_queries, text


def _need(ent, raised_on: date, category: str, status: str = "open", days: int | None = None, **kw):
    closed = {"closed_on": raised_on + timedelta(days=days), "resolution": "已办结"} if days is not None else {}
    return factories.need(ent, raised_on=raised_on, due_on=raised_on + timedelta(days=30), category=category,
                          status=status, **closed, **kw)


@pytest.fixture
def needs(world, db):
    """2026's needs of county X (and one of county Y, one of the other city), and one of 2025.

    finance: 1 Jan (resolved in 4 days, satisfaction 5), 31 Dec (open) → 2 raised, 1 closed, median 4;
    talent: 10 Mar (referred to 税务局 in 10 days, 3), 15 Mar (cannot resolve in 30), 1 May (resolved in 1 day, 4),
    1 Feb (in progress), 1 Jul (referred to 税务局 in 21) → 5 raised, 4 closed, days 1 10 21 30: median 15.5;
    policy (county Y): 1 Jun, referred to 人社局 in 2 days.
    """
    tax, hr = factories.department("税务局", position=1), factories.department("人社局", position=2)
    x, y = world.ent_x, world.ent_y
    _need(x, date(2026, 1, 1), "finance", "resolved", 4, satisfaction=5)
    _need(x, date(2026, 12, 31), "finance")
    _need(x, date(2025, 12, 31), "finance")  # last year
    _need(x, date(2026, 3, 10), "talent", "referred", 10, satisfaction=3, department_id=tax.id)
    _need(world.ent_park, date(2026, 3, 15), "talent", "cannot_resolve", 30)
    _need(x, date(2026, 5, 1), "talent", "resolved", 1, satisfaction=4)
    _need(x, date(2026, 2, 1), "talent", "in_progress")
    _need(x, date(2026, 7, 1), "talent", "referred", 21, department_id=tax.id)
    _need(y, date(2026, 6, 1), "policy", "referred", 2, department_id=hr.id)
    _need(world.ent_z, date(2026, 2, 1), "finance", "resolved", 9, satisfaction=1)  # the other city
    db.session.commit()


def _row(html: str, table: str, marker: str) -> list[str]:
    """The cells' texts of a row (by its data attribute) of a table (by its id)."""
    section = html.split(f'id="{table}"')[1].split("</table>")[0]
    row = re.search(r"<tr[^>]*" + re.escape(marker) + r"[^>]*>(.*?)</tr>", section, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return text(response)


def test_counts_by_category_and_month(client, login_as, world, needs):
    login_as("manager", region=world.city)
    html = _page(client, "/performance/needs?year=2026")
    finance = _row(html, "needs-by-month", 'data-category="finance"')
    assert finance[1:] == ["1", *["0"] * 10, "1", "2"]  # 1 January in January, 31 December in December
    talent = _row(html, "needs-by-month", 'data-category="talent"')
    assert talent[1:] == ["0", "1", "2", "0", "1", "0", "1", "0", "0", "0", "0", "0", "5"]
    assert _row(html, "needs-by-month", 'data-category="policy"')[1:] == [*["0"] * 5, "1", *["0"] * 6, "1"]
    assert _row(html, "needs-by-month", 'data-category="total"')[1:] == [
        "1", "1", "2", "0", "1", "1", "1", "0", "0", "0", "0", "1", "8"]


def test_the_chart_is_stacked_with_a_series_per_category(client, login_as, world, needs):
    login_as("manager", region=world.city)
    body = client.get("/performance/needs?year=2026").get_data(as_text=True)
    spec = re.search(r'data-chart="([^"]*)"', body).group(1)
    import html as html_
    import json
    data = json.loads(html_.unescape(spec))
    assert data["type"] == "bar" and data["stack"] is True and len(data["categories"]) == 12
    assert [s["data"] for s in data["series"]] == [[1, *[0] * 10, 1], [0, 1, 2, 0, 1, 0, 1, 0, 0, 0, 0, 0],
                                                  [*[0] * 5, 1, *[0] * 6]]


def test_resolution_rate_and_days_to_close(client, login_as, world, needs):
    login_as("manager", region=world.city)
    html = _page(client, "/performance/needs?year=2026")
    # raised, closed, rate, median days, mean days
    assert _row(html, "needs-resolution", 'data-category="finance"')[1:] == ["2", "1", "50%", "4", "4"]
    assert _row(html, "needs-resolution", 'data-category="talent"')[1:] == ["5", "4", "80%", "15.5", "15.5"]
    assert _row(html, "needs-resolution", 'data-category="policy"')[1:] == ["1", "1", "100%", "2", "2"]
    assert _row(html, "needs-resolution", 'data-category="ip"')[1:] == ["0", "0", "—", "—", "—"]


def test_departments_and_satisfaction(client, login_as, world, needs):
    login_as("manager", region=world.city)
    html = _page(client, "/performance/needs?year=2026")
    departments = html.split('id="needs-departments"')[1].split("</table>")[0]
    rows = [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
            for r in re.findall(r"<tr>(.*?)</tr>", departments.split("<tbody>")[1], re.S)]
    assert rows == [["税务局", "2", "66.7%"], ["人社局", "1", "33.3%"]]
    assert [_row(html, "needs-satisfaction", f'data-score="{s}"')[1:] for s in range(1, 6)] == [
        ["0", "0%"], ["0", "0%"], ["1", "33.3%"], ["1", "33.3%"], ["1", "33.3%"]]
    assert re.search(r'data-figure="satisfaction">4<', html)
    assert re.search(r'data-figure="raised">8<', html) and re.search(r'data-figure="rate">75%<', html)


def test_scope_county_manager_and_other_city(client, login_as, world, needs):
    login_as("manager", region=world.county_x)
    html = _page(client, "/performance/needs?year=2026")
    assert _row(html, "needs-by-month", 'data-category="total"')[-1] == "7"  # county Y's policy need is not theirs
    assert _row(html, "needs-resolution", 'data-category="policy"')[1] == "0"
    assert "人社局" not in html

    login_as("manager", region=world.other_city)
    html = _page(client, "/performance/needs?year=2026")
    assert _row(html, "needs-by-month", 'data-category="finance"')[1:] == ["0", "1", *["0"] * 10, "1"]
    assert _row(html, "needs-by-month", 'data-category="total"')[-1] == "1"
    assert "税务局" not in html


def test_region_filter(client, login_as, world, needs):
    login_as("admin")
    html = _page(client, f"/performance/needs?year=2026&region={world.county_y.id}")
    assert _row(html, "needs-by-month", 'data-category="total"')[-1] == "1"
    html = _page(client, "/performance/needs?year=2026")
    assert _row(html, "needs-by-month", 'data-category="total"')[-1] == "9"  # the admin: every city
    login_as("manager", region=world.city)
    html = _page(client, f"/performance/needs?year=2026&region={world.county_z.id}")  # not theirs: ignored
    assert _row(html, "needs-by-month", 'data-category="total"')[-1] == "8"


def test_year_selector_and_last_year(client, login_as, world, needs):
    login_as("manager", region=world.city)
    html = _page(client, "/performance/needs")  # this year by default (2026)
    options = re.findall(r'<option value="(\d{4})"\s*(selected)?>', html)
    assert options == [("2026", "selected"), ("2025", "")]
    html = _page(client, "/performance/needs?year=2025")
    assert _row(html, "needs-by-month", 'data-category="finance"')[1:] == [*["0"] * 11, "1", "1"]


def test_a_year_without_needs(client, login_as, world, needs):
    login_as("manager", region=world.city)
    html = _page(client, "/performance/needs?year=2024")
    assert 'id="no-needs"' in html and 'id="needs-by-month"' not in html
    assert client.get("/performance/needs.xlsx?year=2024").status_code == 200
    assert _page(client, "/performance/needs?year=garbage").count('id="needs-by-month"') == 1


def test_no_needs_at_all(client, login_as, world):
    login_as("manager", region=world.city)
    html = _page(client, "/performance/needs")
    assert 'id="no-needs"' in html
    assert re.findall(r'<option value="(\d{4})"', html) == ["2026"]


def test_export_one_sheet_per_table(client, login_as, world, needs, db):
    user = login_as("manager", region=world.city)
    user.locale = "en"
    db.session.commit()
    response = client.get("/performance/needs.xlsx?year=2026")
    assert response.status_code == 200
    wb = load_workbook(BytesIO(response.data))
    assert wb.sheetnames == ["Needs by month", "Resolution by category", "Departments", "Satisfaction", "Outcomes"]
    by_month = list(wb["Needs by month"].iter_rows(values_only=True))
    assert by_month[0][0] == "Category" and by_month[0][1] == "Jan" and by_month[0][-1] == "Total"
    assert by_month[2] == ("Talent", 0, 1, 2, 0, 1, 0, 1, 0, 0, 0, 0, 0, 5)
    assert by_month[-1] == ("Total", 1, 1, 2, 0, 1, 1, 1, 0, 0, 0, 0, 1, 8)
    resolution = list(wb["Resolution by category"].iter_rows(values_only=True))
    assert resolution[2] == ("Talent", 5, 4, 80, 15.5, 15.5)
    assert resolution[8] == ("Intellectual property", 0, 0, None, None, None)
    assert list(wb["Departments"].iter_rows(min_row=2, values_only=True)) == [("税务局", 2, 66.7), ("人社局", 1, 33.3)]
    satisfaction = list(wb["Satisfaction"].iter_rows(min_row=2, values_only=True))
    assert satisfaction[:5] == [(1, 0, 0), (2, 0, 0), (3, 1, 33.3), (4, 1, 33.3), (5, 1, 33.3)]
    assert satisfaction[5:] == [("Needs rated", 3, None), ("Average score", 4, None)]


def test_export_is_safe_from_formulas(client, login_as, world, db):
    factories.department("=HYPERLINK(\"http://x\")")
    dept = factories.department("@SUM(1)")
    _need(world.ent_x, date(2026, 3, 1), "talent", "referred", 3, department_id=dept.id)
    db.session.commit()
    login_as("admin")
    wb = load_workbook(BytesIO(client.get("/performance/needs.xlsx?year=2026").data))
    assert wb.worksheets[2].cell(row=2, column=1).value == "'@SUM(1)"


def test_query_count_does_not_grow_with_needs(client, login_as, world, db):
    login_as("manager", region=world.city)
    dept = factories.department("税务局")

    def add(n):
        for i in range(n):
            ent = factories.enterprise(world.county_x)
            _need(ent, date(2026, 1 + i % 12, 1), "talent", "referred", 3 + i, satisfaction=1 + i % 5,
                  department_id=dept.id)
            _need(ent, date(2026, 1 + i % 12, 2), "finance")
        db.session.commit()

    add(2)
    few = count_queries(client, "/performance/needs?year=2026")
    add(18)
    assert count_queries(client, "/performance/needs?year=2026") == few
