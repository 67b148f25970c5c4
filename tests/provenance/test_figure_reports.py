"""Figure provenance in the registry: every write path records its source's report and resolves the year's figures;
the enterprise page shows each figure's source and the disagreements; migration 0023 carries existing years."""
from __future__ import annotations

import io
import os
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from crm.core.concurrency import StaleVersion
from crm.enterprises import services
from crm.enterprises.models import AnnualFigures, FigureReport
from crm.extensions import db as _db
from crm.io.documents import read_table
from crm.io.models import ImportJob
from crm.io.services import import_table
from tests import factories
from tests.helpers import count_queries
from tests.io.sheets import xlsx

D = Decimal


def reports_of(enterprise, year) -> dict[str, FigureReport]:
    return {r.source: r for r in _db.session.scalars(select(FigureReport).where(
        FigureReport.enterprise_id == enterprise.id, FigureReport.year == year))}


def events(entity_type: str) -> list[AuditEvent]:
    return list(_db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == entity_type)
                                    .order_by(AuditEvent.id)))


def test_tax_data_outrank_the_officer_whose_later_correction_is_kept_beside_them(world, db):
    e = world.ent_x
    f = services.save_figures(e, {"year": 2024, "revenue": D("3200"), "employees": 85}, actor="test")
    db.session.commit()
    first = f.version
    assert (f.source, f.field_sources, f.revenue) == ("officer", {}, D("3200.00"))
    services.save_report(e, 2024, "tax", {"revenue": D("3000")}, actor="test", file_name="税务2024.xlsx")
    db.session.commit()
    assert f.revenue == D("3000.00") and f.employees == 85 and f.version == first + 1
    assert (f.source_of("revenue"), f.source_of("employees")) == ("tax", "officer")
    # the officer corrects the revenue: kept in the officer's report, the tax value still counts
    services.save_figures(e, {"year": 2024, "revenue": D("3500"), "employees": 85}, actor="test", figures=f,
                          version=f.version)
    db.session.commit()
    assert f.revenue == D("3000.00") and reports_of(e, 2024)["officer"].revenue == D("3500.00")
    assert reports_of(e, 2024)["tax"].file_name == "税务2024.xlsx"
    # a form opened before the tax data came is refused (the optimistic version)
    with pytest.raises(StaleVersion):
        services.save_figures(e, {"year": 2024, "revenue": D("3600"), "employees": 85}, actor="test", figures=f,
                              version=first)


def test_a_value_typed_as_it_stands_stays_the_other_sources(world, db):
    e = world.ent_x
    f = services.save_report(e, 2024, "tax", {"revenue": D("3000"), "employees": 80}, actor="test")
    services.save_figures(e, {"year": 2024, "revenue": D("3000"), "employees": 80, "rd_expense": D("150")},
                          actor="test", figures=f)
    db.session.commit()
    officer = reports_of(e, 2024)["officer"]
    assert officer.revenue is None and officer.employees is None and officer.rd_expense == D("150.00")
    assert f.field_sources == {"rd_expense": "officer"} and f.source == "tax"


def test_a_year_is_moved_only_when_one_source_reported_it(world, db):
    e = world.ent_x
    f = services.save_figures(e, {"year": 2023, "revenue": D("3200")}, actor="test")
    services.save_figures(e, {"year": 2022, "revenue": D("3200")}, actor="test", figures=f)
    assert f.year == 2022 and set(reports_of(e, 2022)) == {"officer"} and reports_of(e, 2023) == {}
    services.save_report(e, 2022, "statistics", {"employees": 80}, actor="test")
    with pytest.raises(services.ValidationFailed) as refused:
        services.save_figures(e, {"year": 2021, "revenue": D("3200")}, actor="test", figures=f)
    assert "year" in refused.value.errors


def test_backfill_gives_each_year_without_a_report_its_own_and_counts_them(world, db):
    factories.figures(world.ent_x, 2023)
    factories.figures(world.ent_x, 2024)
    factories.figures(world.ent_y, 2024)
    db.session.flush()
    services.save_report(world.ent_y, 2024, "tax", {"employees": 40}, actor="test")
    assert services.backfill_reports() == 2  # exact on PostgreSQL too, where the INSERT … SELECT reported -1
    assert services.backfill_reports() == 0
    assert {(r.enterprise_id, r.year) for r in db.session.scalars(select(FigureReport))} == {
        (world.ent_x.id, 2023), (world.ent_x.id, 2024), (world.ent_y.id, 2024)}


def test_verifying_confirms_the_reports_the_year_holds_and_new_data_needs_confirming(world, db):
    e = world.ent_x
    officer = factories.user("officer", region=world.county_x, serves=[e])
    f = factories.figures(e, 2024)  # a row written without reports: adopted as the officer's
    services.verify_figures(f, actor=officer)
    db.session.commit()
    assert f.verified and f.verified_by_id == officer.id and reports_of(e, 2024)["officer"].confirmed
    services.save_report(e, 2024, "statistics", {"employees": 90}, actor="test")
    db.session.commit()
    assert not f.verified and f.employees == 90
    services.confirm_report(reports_of(e, 2024)["statistics"], actor=officer)
    db.session.commit()
    assert f.verified
    assert [ev.action for ev in events("figure_reports")] == ["verify", "create", "verify"]
    assert [ev.action for ev in events("annual_figures")] == ["verify", "update", "verify"]
    # changed figures need confirming again
    services.save_report(e, 2024, "statistics", {"employees": 91}, actor="test")
    assert not reports_of(e, 2024)["statistics"].confirmed and not f.verified


def test_the_portal_records_the_enterprises_report_confirmed_by_its_reviewer(world, db):
    from crm.portal import services as portal_services

    e = world.ent_x
    officer = factories.user("officer", region=world.county_x, serves=[e])
    contact = factories.user("enterprise", enterprise=e)
    factories.figures(e, 2024)
    services.save_report(e, 2024, "tax", {"revenue": D("3100")}, actor="test")
    db.session.commit()
    data = {"year": 2024, "revenue": D("3400"), "hightech_revenue": D("2300"), "rd_expense": D("200"),
            "employees": 85, "tech_staff": 14, "rd_staff": 10}
    sub = portal_services.submit_figures(e, data, actor=contact)
    portal_services.accept_submission(sub, actor=officer, version=sub.version)
    db.session.commit()
    mine = reports_of(e, 2024)["enterprise"]
    assert mine.confirmed_by_id == officer.id and mine.revenue == D("3400.00") and mine.rd_expense == D("200.00")
    f = db.session.scalar(select(AnnualFigures).where(AnnualFigures.enterprise_id == e.id))
    assert f.revenue == D("3100.00") and f.rd_expense == D("200.00")  # tax outranks; the rest is the latest


def _import(tmp_path, rows, name, source, actor="cli"):
    path = tmp_path / name
    path.write_bytes(xlsx(rows))
    table = read_table(path, "figures")
    try:
        return import_table("figures", table, actor=actor, figure_source=source, file_name=name)
    finally:
        table.close()


def test_a_tax_file_is_recorded_as_tax_data_with_its_file_name(world, tmp_path, db):
    e = world.ent_x
    factories.figures(e, 2023)
    db.session.commit()
    rows = [["统一社会信用代码", "年度", "营业收入", "研发费用"], [e.uscc, 2023, "3,000", "180"],
            [e.uscc, 2022, "2,500", "100"]]
    report = _import(tmp_path, rows, "税务局2023年度数据.xlsx", "tax")
    db.session.commit()
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    tax = reports_of(e, 2023)["tax"]
    assert (tax.file_name, tax.revenue, tax.rd_expense, tax.employees) == ("税务局2023年度数据.xlsx", D("3000.00"),
                                                                          D("180.00"), None)
    f = db.session.scalar(select(AnnualFigures).where(AnnualFigures.enterprise_id == e.id, AnnualFigures.year == 2023))
    assert f.revenue == D("3000.00") and f.employees == 85 and f.source_of("revenue") == "tax"
    new_year = db.session.scalar(select(AnnualFigures).where(AnnualFigures.enterprise_id == e.id,
                                                             AnnualFigures.year == 2022))
    assert new_year.source == "tax" and set(reports_of(e, 2022)) == {"tax"}
    # the same file again changes nothing
    again = _import(tmp_path, rows, "税务局2023年度数据.xlsx", "tax")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    # a statistics file that agrees with the figures on record is still recorded (a plain import is not)
    agree = [["统一社会信用代码", "年度", "营业收入"], [e.uscc, 2023, "3000"]]
    assert _import(tmp_path, agree, "统计.xlsx", "statistics").updated == 1
    assert _import(tmp_path, agree, "汇总.xlsx", "import").unchanged == 1
    assert set(reports_of(e, 2023)) == {"officer", "tax", "statistics"}


def test_the_upload_page_takes_the_source_and_the_report_names_the_job(client, login_as, world, db):
    login_as("admin")
    e = world.ent_x
    data = xlsx([["统一社会信用代码", "年度", "营业收入", "职工总数"], [e.uscc, 2023, "2800", "70"]])
    response = client.post("/imports", data={"kind": "figures", "figure_source": "statistics",
                                             "file": (io.BytesIO(data), "统计局2023.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    job = db.session.scalar(select(ImportJob))
    assert job.figure_source == "statistics"
    assert client.post(f"/imports/{job.id}/confirm").status_code == 303
    db.session.expire_all()
    statistics = reports_of(e, 2023)["statistics"]
    assert (statistics.file_name, statistics.import_job_id, statistics.employees) == ("统计局2023.xlsx", job.id, 70)
    bad = client.post("/imports", data={"kind": "figures", "figure_source": "rumour",
                                        "file": (io.BytesIO(data), "x.xlsx")}, content_type="multipart/form-data")
    assert bad.status_code == 422 and db.session.scalar(select(func.count()).select_from(ImportJob)) == 1


def _disputed_world(world, db):
    e = world.ent_x
    officer = factories.user("officer", region=world.county_x, serves=[e], locale="en", name="王专员")
    f = factories.figures(e, 2024)  # the officer's: revenue 3200, employees 85
    services.save_report(e, 2024, "tax", {"revenue": D("3000"), "employees": 85}, actor=officer,
                         file_name="税务2024.xlsx")
    services.confirm_report(reports_of(e, 2024)["tax"], actor=officer)
    db.session.commit()
    return e, officer, f


def test_the_enterprise_page_shows_the_disagreement_and_each_figures_source(client, login_as, world, db):
    e, officer, f = _disputed_world(world, db)
    factories.figures(e, 2023)  # one source only: no sources row
    db.session.commit()
    login_as(officer)
    page = client.get(f"/enterprises/{e.id}").get_data(as_text=True)
    cell = re.search(r'<td class="num figure-disputed[^"]*" data-field="revenue" title="([^"]*)">([^<]*)<', page)
    assert cell and cell.group(2).strip() == "3,000.00"
    assert "Tax data 3,000" in cell.group(1) and "Officer 3,200" in cell.group(1)
    assert 'figure-disputed text-danger-emphasis" data-field="employees"' not in page  # 85 = 85
    assert page.count('class="figures-provenance"') == 1 and 'id="figures-2024-sources"' in page
    line = re.search(r'<li data-field="revenue">(.*?)</li>', page, re.S).group(1)
    assert "the engine reads Tax data" in line and "its source ranks higher" in line
    assert "税务2024.xlsx" in page and "王专员" in page
    # an undisputed figure names its source, date and who confirmed it
    employees = re.search(r'<td class="num" title="([^"]*)">85</td>', page).group(1)
    assert employees.startswith("Tax data (税务2024.xlsx) · ") and "confirmed by 王专员" in employees


def test_the_page_reads_the_reports_in_one_query_whatever_the_years(client, login_as, world, db):
    e, officer, _f = _disputed_world(world, db)
    login_as(officer)
    one_year = count_queries(client, f"/enterprises/{e.id}")
    for year in (2020, 2021, 2022, 2023):
        factories.figures(e, year)
        services.save_report(e, year, "statistics", {"employees": 80 + year % 5}, actor=officer)
    db.session.commit()
    assert count_queries(client, f"/enterprises/{e.id}") == one_year


def test_confirming_a_report_on_the_page(client, login_as, world, db):
    e, officer, f = _disputed_world(world, db)
    other = factories.figures(world.ent_y, 2024)
    services.verify_figures(other, actor="test")
    db.session.commit()
    login_as(officer)
    officer_report = reports_of(e, 2024)["officer"]
    response = client.post(f"/enterprises/{e.id}/figures/reports/{officer_report.id}/confirm")
    assert response.status_code == 303
    db.session.expire_all()
    assert reports_of(e, 2024)["officer"].confirmed_by_id == officer.id
    foreign = reports_of(world.ent_y, 2024)["officer"]
    assert client.post(f"/enterprises/{e.id}/figures/reports/{foreign.id}/confirm").status_code == 404


# --- migration 0023 -----------------------------------------------------------------------


def _backends():
    url = os.environ.get("TEST_DATABASE_URL", "")
    return ["sqlite", "postgresql"] if url.startswith("postgresql") else ["sqlite"]


@pytest.fixture
def scratch_url(request, tmp_path):
    """An empty database of the parametrized backend; a PostgreSQL one is dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migration.db'}"
        return
    base = sa.engine.make_url(os.environ["TEST_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
    name = f"{base.database}_m0023"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.parametrize("scratch_url", _backends(), indirect=True)
def test_migration_0023_carries_every_year_as_the_report_of_its_source(scratch_url):
    from flask_migrate import upgrade

    from crm import create_app

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=scratch_url)
    at = datetime(2025, 4, 1, 2, 0, tzinfo=UTC)
    with app.app_context():
        upgrade(revision="0021")
        with _db.engine.begin() as conn:
            meta = sa.MetaData()
            meta.reflect(conn, only=["regions", "enterprises", "annual_figures"])
            regions, enterprises, figures = (meta.tables[n] for n in ("regions", "enterprises", "annual_figures"))
            conn.execute(regions.insert().values(id=1, code="640000", name="宁夏", level="province", path="/1/"))
            conn.execute(enterprises.insert().values(
                id=7, name="测试企业", uscc="91640100MA00000001", region_id=1, address="", industry_code="C35",
                is_above_scale=False, status="active", created_at=at, updated_at=at))
            common = {"enterprise_id": 7, "created_at": at, "updated_at": at}
            conn.execute(figures.insert().values(
                year=2023, revenue=D("3200.00"), employees=85, source="import", verified=True, verified_at=at,
                **common))
            conn.execute(figures.insert().values(
                year=2024, revenue=D("3500.00"), land_mu=D("12.50"), source="officer", verified=False, **common))
        upgrade(revision="0023")
        with _db.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT year, source, revenue, employees, land_mu, file_name, confirmed_at, reported_at "
                "FROM figure_reports ORDER BY year")).all()
            sources = conn.execute(sa.text("SELECT field_sources FROM annual_figures")).scalars().all()
        _db.engine.dispose()
    assert [(r.year, r.source, D(r.revenue), r.employees, r.file_name) for r in rows] == [
        (2023, "import", D("3200.00"), 85, ""), (2024, "officer", D("3500.00"), None, "")]
    assert D(rows[1].land_mu) == D("12.50") and rows[1].confirmed_at is None
    assert rows[0].confirmed_at is not None and rows[0].reported_at is not None
    assert all(s in ({}, "{}") for s in sources)


def test_the_officers_form_says_when_a_higher_ranked_source_counts(client, login_as, world, db):
    e, officer, f = _disputed_world(world, db)
    login_as(officer)
    form = {"year": "2024", "version": str(f.version), "revenue": "3250", "hightech_revenue": "2300",
            "rd_expense": "180", "rd_expense_domestic": "180", "total_cost": "2800", "total_assets": "4100",
            "net_assets": "2100", "employees": "85", "tech_staff": "14", "rd_staff": "10"}
    assert client.post(f"/enterprises/{e.id}/figures/{f.id}/edit", data=form).status_code == 303
    page = client.get(f"/enterprises/{e.id}").get_data(as_text=True)
    assert "A higher-ranked source counts for Revenue" in page
    db.session.expire_all()
    assert db.session.get(AnnualFigures, f.id).revenue == D("3000.00")
    assert reports_of(e, 2024)["officer"].revenue == D("3250.00")


def test_the_command_line_imports_a_statistics_file_as_such(app, world, tmp_path, db):
    e = world.ent_x
    db.session.commit()
    path = tmp_path / "统计局2024.xlsx"
    path.write_bytes(xlsx([["统一社会信用代码", "年度", "职工总数"], [e.uscc, 2024, "77"]]))
    result = app.test_cli_runner().invoke(args=["import", "figures", str(path), "--source", "statistics",
                                                "--format", "json"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    report = reports_of(e, 2024)["statistics"]
    job = db.session.scalar(select(ImportJob))
    assert (report.employees, report.file_name, report.import_job_id) == (77, "统计局2024.xlsx", job.id)
    assert job.figure_source == "statistics"
