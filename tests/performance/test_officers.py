"""Officer performance (/performance/officers): each figure on a hand-built dataset, scope, sort, export, queries."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook

from crm.performance import queries
from tests import factories
from tests.helpers import count_queries, text
from tests.performance.conftest import cells, worse_columns


def _closed(ent, owner, raised_on: date, days: int, **kw):
    """A need the owner closed `days` after it was raised."""
    return factories.need(ent, owner=owner, raised_on=raised_on, due_on=raised_on + timedelta(days=60),
                          status=kw.pop("status", "resolved"), resolution="已办结",
                          closed_on=raised_on + timedelta(days=days), **kw)


@pytest.fixture
def team(world, db):
    """Officers A and B of county X, C of county Y, Z of the other city, with a year of work (today 2026-06-15).

    A serves ent_x, ent_park and e3 (visited ent_x twice and ent_park once this year, e3 only last year);
    B serves e_b (never visited); C serves ent_y (visited this month); Z serves ent_z.
    """
    e3 = factories.enterprise(world.county_x, name="兴庆三号有限公司")
    e_b = factories.enterprise(world.county_x, name="兴庆四号有限公司")
    a = factories.user("officer", region=world.county_x, name="A赵丽娟", serves=[world.ent_x, world.ent_park, e3])
    b = factories.user("officer", region=world.county_x, name="B孙建国", serves=[e_b])
    c = factories.user("officer", region=world.county_y, name="C马文斌", serves=[world.ent_y])
    z = factories.user("officer", region=world.county_z, name="Z杨志刚", serves=[world.ent_z])
    factories.user("officer", region=world.county_x, name="离职专员", active=False)

    # visits: A 1 this month, 3 this year (1 January counts, 31 December last year does not)
    factories.visit(world.ent_x, a, visited_on=date(2026, 6, 2))
    factories.visit(world.ent_x, a, visited_on=date(2026, 3, 1))
    factories.visit(world.ent_park, a, visited_on=date(2026, 1, 1))
    factories.visit(e3, a, visited_on=date(2025, 12, 31))
    factories.visit(e_b, c, visited_on=date(2026, 2, 1))  # C visited B's enterprise: B's coverage stays 0
    factories.visit(world.ent_y, c, visited_on=date(2026, 6, 1))
    factories.visit(world.ent_z, z, visited_on=date(2026, 6, 1))

    # needs: A owns 3 open (2 overdue: due yesterday, and in progress past due) and 3 closed this year (4, 10, 20
    # days: median 10), one closed last year (not counted); B 2 closed this year (3 and 8 days: median 5.5)
    factories.need(world.ent_x, owner=a, raised_on=date(2026, 6, 1), due_on=date(2026, 6, 15))
    factories.need(world.ent_x, owner=a, raised_on=date(2026, 6, 1), due_on=date(2026, 6, 14))
    factories.need(world.ent_park, owner=a, raised_on=date(2026, 5, 1), due_on=date(2026, 5, 8), status="in_progress")
    _closed(world.ent_x, a, date(2026, 1, 2), 4)
    _closed(world.ent_x, a, date(2026, 2, 1), 10, status="referred",
            department_id=factories.department("税务局").id)
    _closed(world.ent_park, a, date(2025, 12, 20), 20)  # raised last year, closed this year: counts
    _closed(world.ent_x, a, date(2025, 10, 1), 30)  # closed 2025-10-31: not this year
    _closed(e_b, b, date(2026, 3, 1), 3, status="cannot_resolve")
    _closed(e_b, b, date(2026, 4, 1), 8)

    # follow-ups (done_at is UTC; the bureau's day is UTC+8): A's
    factories.follow_up(world.ent_x, a, due_on=date(2026, 3, 10),
                        done_at=datetime(2026, 3, 10, 15, 59, 59, tzinfo=UTC))  # 23:59:59 on the due date: on time
    factories.follow_up(world.ent_x, a, due_on=date(2026, 3, 10),
                        done_at=datetime(2026, 3, 10, 16, 0, tzinfo=UTC))  # 00:00 the next day: late
    factories.follow_up(world.ent_x, a, due_on=date(2026, 4, 1),
                        done_at=datetime(2026, 3, 20, 4, 0, tzinfo=UTC))  # early: on time
    factories.follow_up(world.ent_x, a, due_on=date(2025, 12, 31),
                        done_at=datetime(2025, 12, 31, 15, 0, tzinfo=UTC))  # 23:00 on 31 Dec 2025: last year
    factories.follow_up(world.ent_x, a, due_on=date(2025, 12, 31),
                        done_at=datetime(2025, 12, 31, 16, 30, tzinfo=UTC))  # 00:30 on 1 Jan 2026: this year, late
    factories.follow_up(world.ent_x, a, due_on=date(2026, 6, 1))  # not done: not counted
    factories.follow_up(e_b, b, due_on=date(2026, 5, 1), done_at=datetime(2026, 5, 1, 4, 0, tzinfo=UTC))
    db.session.commit()
    return {"a": a, "b": b, "c": c, "z": z, "e3": e3, "e_b": e_b}


def _page(client, url="/performance/officers"):
    response = client.get(url)
    assert response.status_code == 200
    return text(response)


def test_each_figure_of_each_officer(client, login_as, world, team):
    login_as("manager", region=world.city)
    html = _page(client)
    assert cells(html, f'data-officer="{team["a"].id}"') == {
        "served": "3", "visits_month": "1", "visits_year": "3", "coverage": "66.7%", "open_needs": "3",
        "overdue_needs": "2", "median_days": "10", "on_time": "50%"}
    assert cells(html, f'data-officer="{team["b"].id}"') == {
        "served": "1", "visits_month": "0", "visits_year": "0", "coverage": "0%", "open_needs": "0",
        "overdue_needs": "0", "median_days": "5.5", "on_time": "100%"}
    assert cells(html, f'data-officer="{team["c"].id}"') == {
        "served": "1", "visits_month": "1", "visits_year": "2", "coverage": "100%", "open_needs": "0",
        "overdue_needs": "0", "median_days": "—", "on_time": "—"}
    # the region's median over A, B and C (officers without a value left out: days over A and B only)
    assert cells(html, 'id="median-row"') == {
        "served": "1", "visits_month": "1", "visits_year": "2", "coverage": "66.7%", "open_needs": "0",
        "overdue_needs": "0", "median_days": "7.8", "on_time": "75%"}
    assert html.index('id="median-row"') < html.index(f'data-officer="{team["a"].id}"')
    assert "离职专员" not in html  # inactive officers are not listed


def test_worse_than_the_median_is_marked_with_more_than_colour(client, login_as, world, team):
    login_as("manager", region=world.city)
    html = _page(client)
    assert worse_columns(html, f'data-officer="{team["a"].id}"') == {"overdue_needs", "median_days", "on_time"}
    assert worse_columns(html, f'data-officer="{team["b"].id}"') == {"visits_month", "visits_year", "coverage"}
    assert worse_columns(html, f'data-officer="{team["c"].id}"') == set()
    a_row = html.split(f'data-officer="{team["a"].id}"')[1].split("</tr>")[0]
    assert "▲" in a_row and "▼" in a_row and 'class="visually-hidden"' in a_row


def test_scope_county_manager_and_other_city(client, login_as, world, team):
    login_as("manager", region=world.county_x)
    html = _page(client)
    assert "A赵丽娟" in html and "B孙建国" in html
    assert "C马文斌" not in html and "Z杨志刚" not in html
    # the median is the county's: coverage of A (66.7) and B (0)
    assert cells(html, 'id="median-row"')["coverage"] == "33.3%"

    login_as("manager", region=world.other_city)
    html = _page(client)
    assert "Z杨志刚" in html
    assert not any(name in html for name in ("A赵丽娟", "B孙建国", "C马文斌"))


def test_region_filter_within_scope_only(client, login_as, world, team):
    login_as("manager", region=world.city)
    html = _page(client, f"/performance/officers?region={world.county_y.id}")
    assert "C马文斌" in html and "A赵丽娟" not in html
    # a region outside the manager's scope is ignored: their whole scope, never the other city's officers
    html = _page(client, f"/performance/officers?region={world.county_z.id}")
    assert "A赵丽娟" in html and "Z杨志刚" not in html
    login_as("admin")
    html = _page(client, f"/performance/officers?region={world.county_z.id}")
    assert "Z杨志刚" in html and "A赵丽娟" not in html


def test_admin_sees_every_officer(client, login_as, world, team):
    login_as("admin")
    html = _page(client)
    assert all(name in html for name in ("A赵丽娟", "B孙建国", "C马文斌", "Z杨志刚"))


def _order(html, team, names=("a", "b", "c")):
    positions = {k: html.index(f'data-officer="{team[k].id}"') for k in names}
    return sorted(positions, key=positions.get)


@pytest.mark.parametrize(("query", "expected"), [
    ("", ["a", "b", "c"]),  # by name
    ("?sort=visits_year&desc=1", ["a", "c", "b"]),
    ("?sort=visits_year", ["b", "c", "a"]),
    ("?sort=median_days", ["b", "a", "c"]),  # C has none: last either way
    ("?sort=median_days&desc=1", ["a", "b", "c"]),
    ("?sort=coverage&desc=1", ["c", "a", "b"]),
    ("?sort=region", ["a", "b", "c"]),
    ("?sort=nonsense", ["a", "b", "c"]),
])
def test_sorting(client, login_as, world, team, query, expected):
    login_as("manager", region=world.city)
    html = _page(client, "/performance/officers" + query)
    assert _order(html, team) == expected


def test_sort_links_toggle_the_direction(client, login_as, world, team):
    login_as("manager", region=world.city)
    html = _page(client, "/performance/officers?sort=coverage")
    assert 'aria-sort="ascending"' in html
    assert "sort=coverage&amp;desc=1" in client.get("/performance/officers?sort=coverage").get_data(as_text=True)


def test_pages_of_fifty(client, login_as, world, db):
    for i in range(55):
        factories.user("officer", region=world.county_x, name=f"专员{i:03d}")
    db.session.commit()
    login_as("manager", region=world.city)
    assert _page(client).count("data-officer=") == 50
    assert _page(client, "/performance/officers?page=2").count("data-officer=") == 5


def test_export_has_the_same_numbers(client, login_as, world, team):
    login_as("manager", region=world.city)
    response = client.get("/performance/officers.xlsx?sort=visits_year&desc=1")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ws = load_workbook(BytesIO(response.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows[0]) == 10
    assert rows[1][2:] == (1, 1, 2, 66.7, 0, 0, 7.8, 75)  # the region's median first
    assert [r[0] for r in rows[2:]] == ["A赵丽娟", "C马文斌", "B孙建国"]  # the page's order
    assert rows[2][1:] == ("兴庆区", 3, 1, 3, 66.7, 3, 2, 10, 50)
    assert rows[4][1:] == ("兴庆区", 1, 0, 0, 0, 0, 0, 5.5, 100)
    assert rows[3][8:] == (None, None)


def test_export_header_in_the_users_language(client, login_as, world, team, db):
    user = login_as("manager", region=world.city)
    user.locale = "en"
    db.session.commit()
    ws = load_workbook(BytesIO(client.get("/performance/officers.xlsx").data)).active
    assert [c.value for c in ws[1]][:3] == ["Officer", "Region", "Enterprises served"]
    assert ws.cell(row=2, column=1).value == "Median of the region"


def test_export_region_filter(client, login_as, world, team):
    login_as("manager", region=world.city)
    ws = load_workbook(BytesIO(client.get(f"/performance/officers.xlsx?region={world.county_y.id}").data)).active
    assert [r[0] for r in ws.iter_rows(min_row=3, values_only=True)] == ["C马文斌"]


def test_no_officers_in_scope(client, login_as, world):
    login_as("manager", region=world.city)
    response = client.get("/performance/officers")
    assert response.status_code == 200
    assert 'id="median-row"' not in text(response)
    assert client.get("/performance/officers.xlsx").status_code == 200


def test_query_count_does_not_grow_with_officers(client, login_as, world, db):
    login_as("manager", region=world.city)

    def add(n):
        for _ in range(n):
            ent = factories.enterprise(world.county_x)
            officer = factories.user("officer", region=world.county_x, serves=[ent])
            factories.visit(ent, officer, visited_on=date(2026, 6, 1))
            factories.need(ent, owner=officer, raised_on=date(2026, 5, 1), due_on=date(2026, 5, 2))
            _closed(ent, officer, date(2026, 2, 1), 5)
            factories.follow_up(ent, officer, due_on=date(2026, 5, 1), done_at=datetime(2026, 5, 2, tzinfo=UTC))
        db.session.commit()

    add(2)
    few = count_queries(client, "/performance/officers")
    add(18)
    assert count_queries(client, "/performance/officers") == few
    assert count_queries(client, "/performance/officers?sort=on_time&desc=1&page=1") == few


def test_median_helpers():
    assert queries._median([]) is None
    assert queries._median([3, 1, 2]) == 2
    assert queries._median([4, 1, 2, 3]) == 2.5
    assert queries.rounded(66.666) == 66.7 and queries.rounded(10.0) == 10 and queries.rounded(None) is None
