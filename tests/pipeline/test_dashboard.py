"""The dashboard's numbers, drill-downs, scoping and query count; snapshots; the indicator table and exports."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from crm.core import clock
from crm.pipeline import queries, services
from crm.pipeline.models import IndicatorValue, Target, TierSnapshot
from tests import factories
from tests.helpers import count_queries, text


def test_funnel_and_sub_regions_count_operating_enterprises_by_current_tier(world, db):
    factories.certification(world.ent_x, "high_tech", issued_on=date(2025, 1, 10))
    factories.certification(world.ent_y, "tech_sme", issued_on=date(2026, 1, 10))
    factories.enterprise(world.county_y, archived_at=factories.utc(date(2026, 1, 1)))  # archived: not counted
    db.session.commit()
    counts = queries.tier_counts_by_region(world.city)
    funnel = dict(queries.funnel(counts))
    assert funnel[None] == 1 and funnel["high_tech"] == 1 and funnel["tech_sme"] == 1  # ent_park is a candidate
    rows = {r.code: c for r, c in queries.by_subregion(counts, world.city)}
    assert rows["640104"]["high_tech"] == 1 and rows["640104"][None] == 1  # the park folds into county X
    assert rows["640105"]["tech_sme"] == 1
    assert "640202" not in rows  # another city's county


def test_dashboard_links_every_number_to_its_list(client, login_as, world, db):
    factories.certification(world.ent_x, "high_tech", issued_on=date(2025, 1, 10))
    db.session.commit()
    login_as("manager", region=world.city)
    page = text(client.get("/pipeline"))
    assert f'href="/enterprises?region={world.city.id}&tier=high_tech">1<' in page
    assert f'href="/enterprises?region={world.county_x.id}&tier=high_tech">1<' in page
    listed = text(client.get(f"/enterprises?region={world.county_x.id}&tier=high_tech"))
    assert world.ent_x.name in listed and world.ent_park.name not in listed


def test_movement_and_expiring(world, db):
    today = clock.today()
    cert = factories.certification(world.ent_x, "tech_sme", issued_on=today.replace(month=1, day=1))
    cert.expires_on = today + timedelta(days=40)
    db.session.commit()
    assert queries.movement(world.city, today.year)["tech_sme"]["gained"] == 1
    months = dict(queries.expiring_by_month(world.city, today))
    assert sum(c["tech_sme"] for c in months.values()) == 1
    assert [c.id for c in db.session.scalars(queries.expiring_query(world.city, today))] == [cert.id]
    assert list(db.session.scalars(queries.expiring_query(world.other_city, today))) == []


def test_expiring_list_exports_what_it_shows(client, login_as, world, db):
    today = clock.today()
    cert = factories.certification(world.ent_x, "tech_sme", issued_on=today.replace(month=1, day=1))
    cert.expires_on = today + timedelta(days=40)
    db.session.commit()
    login_as("manager", region=world.city)
    assert world.ent_x.name in text(client.get("/pipeline/expiring"))
    sheet = load_workbook(BytesIO(client.get("/pipeline/expiring.xlsx").data)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[-1]) for r in rows] == [(world.ent_x.name, 40)]


def test_the_monthly_snapshot_counts_valid_gained_and_lost(world, db):
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    factories.certification(world.ent_x, "high_tech", issued_on=date(2026, 3, 5))
    old = factories.certification(world.ent_y, "tech_sme", issued_on=date(2025, 1, 1))
    old.expires_on = date(2026, 3, 20)
    db.session.commit()
    from crm.ladder.services import expire_due_certifications

    expire_due_certifications(date(2026, 3, 21), actor="test")
    db.session.commit()
    assert services.compute_snapshot(date(2026, 3, 31)) == 2
    rows = {(r.region_id, r.tier, r.officer_id): r for r in db.session.scalars(select(TierSnapshot))}
    x = rows[(world.county_x.id, "high_tech", officer.id)]
    assert (x.valid, x.gained, x.lost) == (1, 1, 0)
    y = rows[(world.county_y.id, "tech_sme", 0)]
    assert (y.valid, y.gained, y.lost) == (0, 0, 1)
    assert services.compute_snapshot(date(2026, 3, 31)) == 2  # again: replaced, not doubled
    assert len(db.session.scalars(select(TierSnapshot)).all()) == 2
    months, trend = queries.monthly_trend(world.city, date(2026, 1, 1))
    assert months == [date(2026, 3, 31)] and trend["high_tech"] == [1]


def test_backfill_from_the_history(app, world, db):
    factories.certification(world.ent_x, "high_tech", issued_on=date(2025, 6, 15))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["pipeline", "backfill", "--since", "2025-05", "--until", "2025-08"])
    assert result.exit_code == 0, result.output
    valid = {r.month_end: r.valid for r in db.session.scalars(select(TierSnapshot))}
    assert valid == {date(2025, 6, 30): 1, date(2025, 7, 31): 1, date(2025, 8, 31): 1}
    assert "4 months" in result.output


@pytest.mark.parametrize("url", ["/pipeline", "/pipeline/targets", "/pipeline/indicators"])
def test_pipeline_pages_run_a_fixed_number_of_queries(client, login_as, world, db, url):
    login_as("manager", region=world.city)

    def add(n):
        for i in range(n):
            e = factories.enterprise(world.county_x if i % 2 else world.county_y)
            factories.certification(e, "tech_sme", issued_on=date(2026, 1, 2))
            factories.need(e, raised_on=date(2026, 1, 3))
        db.session.commit()

    add(2)
    few = count_queries(client, url)
    add(20)
    assert count_queries(client, url) == few


def test_indicator_table_counts_and_entered_values_and_export(client, login_as, world, db):
    today = clock.today()
    factories.certification(world.ent_x, "high_tech", issued_on=date(today.year - 2, 3, 1))
    factories.certification(world.ent_y, "high_tech", issued_on=today.replace(month=1, day=2))
    db.session.add(Target(year=today.year + 1, region_id=world.county_x.id, metric="valid_count", tier="high_tech",
                          value=Decimal(3)))
    db.session.add(Target(year=today.year + 1, region_id=world.county_y.id, metric="valid_count", tier="high_tech",
                          value=Decimal(2)))
    db.session.commit()
    login_as("manager", region=world.city)
    r = client.post(f"/pipeline/indicators/edit?region={world.city.id}&year={today.year}",
                    data={f"tech_contracts-{today.year}": "36.8", f"platforms-{today.year + 1}": "1,020"})
    assert r.status_code == 303
    assert {(v.year, v.code, v.value) for v in db.session.scalars(select(IndicatorValue))} == {
        (today.year, "tech_contracts", Decimal("36.8")), (today.year + 1, "platforms", Decimal(1020))}
    table = queries.indicator_table(world.city, today.year, today)
    assert table["high_tech_count"] == [Decimal(1), Decimal(2), Decimal(5), None]  # last year, now, 3+2, —
    export = client.get(f"/pipeline/indicators.xlsx?region={world.city.id}&year={today.year}")
    sheet = load_workbook(BytesIO(export.data)).active
    rows = {row[0]: row[1:] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 11
    high_tech = next(v for k, v in rows.items() if "高新" in str(k) or "high-tech" in str(k).lower())
    assert list(high_tech) == [1, 2, 5, None]


def test_officers_and_enterprise_users_have_no_pipeline(client, login_as, world):
    login_as("officer", region=world.county_x)
    assert client.get("/pipeline").status_code == 403
    login_as("enterprise", enterprise=world.ent_x)
    assert client.get("/pipeline/targets").status_code == 403
