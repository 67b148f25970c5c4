"""The bulk write of enterprises and figures keeps the services' guarantees: versions move on, the trail records the
same events (create: the snapshot; update: old → new), the policy matches are refreshed once at the end, and a row
someone else saved after the import read it is refused as the pages refuse it, the others written."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import force_locale
from sqlalchemy import select, update

from crm.core.audit import AuditEvent
from crm.enterprises.models import AnnualFigures, Enterprise
from crm.io import services
from tests import factories
from tests.io.sheets import valid_uscc, xlsx
from tests.io.test_import_enterprises import run


def _events(db, entity_type, entity_id):
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id).order_by(AuditEvent.id)))


def test_enterprise_rows_are_versioned_and_recorded_as_the_service_does(world, tmp_path, db):
    e = world.ent_x
    v0 = e.version
    new = valid_uscc(9700)
    rows = [["统一社会信用代码", "企业名称", "行政区划代码", "行业代码", "成立日期"],
            [e.uscc, "兴庆智能装备股份有限公司", "640104", "c3511", e.established_on],
            [new, "新登记有限公司", "640104", "C35", "2019-04-01"]]
    report = run(tmp_path, "enterprises", xlsx(rows))
    db.session.commit()
    assert (report.created, report.updated) == (1, 1)
    db.session.refresh(e)
    assert e.version == v0 + 1 and e.name == "兴庆智能装备股份有限公司"
    [changed] = _events(db, "enterprises", e.id)
    assert (changed.action, changed.enterprise_id, changed.summary, changed.actor_label) == (
        "update", e.id, "兴庆智能装备股份有限公司", "cli")
    assert changed.changes == {"name": ["兴庆智能装备有限公司", "兴庆智能装备股份有限公司"]}
    created = db.session.scalar(select(Enterprise).where(Enterprise.uscc == new))
    assert created.version == 1
    [event] = _events(db, "enterprises", created.id)
    assert (event.action, event.enterprise_id, event.summary) == ("create", created.id, "新登记有限公司")
    assert event.changes == {"name": [None, "新登记有限公司"], "uscc": [None, new], "region_id": [None, world.county_x.id],
                             "address": [None, ""], "industry_code": [None, "C35"],
                             "established_on": [None, "2019-04-01"], "is_above_scale": [None, False],
                             "status": [None, "active"]}


def test_figure_rows_are_versioned_unverified_and_recorded(world, tmp_path, db):
    e = world.ent_x
    f = factories.figures(e, 2023, verified=True)
    db.session.commit()
    v0 = f.version
    rows = [["统一社会信用代码", "年度", "营业收入"], [e.uscc, 2023, "3,500"], [e.uscc, 2022, "1,000.5"]]
    report = run(tmp_path, "figures", xlsx(rows))
    db.session.commit()
    assert (report.created, report.updated) == (1, 1)
    db.session.refresh(f)
    # the file's revenue is the import's report, the rest stays the officer's (crm.enterprises: provenance)
    assert f.version == v0 + 1 and f.revenue == Decimal("3500.00") and not f.verified and f.source == "officer"
    assert f.field_sources == {"revenue": "import"}
    [changed] = [c for c in _events(db, "annual_figures", f.id) if c.action == "update"]
    assert changed.summary.startswith(f"{e.name} 2023") and changed.enterprise_id == e.id
    assert changed.changes["revenue"] == ["3200.00", "3500.00"] and changed.changes["verified"] == [True, False]
    new = db.session.scalar(select(AnnualFigures).where(AnnualFigures.enterprise_id == e.id,
                                                        AnnualFigures.year == 2022))
    [event] = _events(db, "annual_figures", new.id)
    assert event.action == "create" and event.changes == {
        "year": [None, 2022], "revenue": [None, "1000.50"], "source": [None, "import"]}


def test_a_row_saved_by_someone_else_meanwhile_is_refused(world, tmp_path, db, monkeypatch):
    x, y = world.ent_x, world.ent_y
    real = services._EnterpriseRows.prefetch

    def prefetch_then_someone_saves(self, rows):
        real(self, rows)
        table = Enterprise.__table__
        db.session.execute(update(table).where(table.c.id == x.id).values(version=table.c.version + 1,
                                                                           address="别人改的"))

    monkeypatch.setattr(services._EnterpriseRows, "prefetch", prefetch_then_someone_saves)
    rows = [["统一社会信用代码", "企业名称", "行政区划代码", "行业代码"],
            [x.uscc, x.name + "改", "640104", x.industry_code],
            [y.uscc, y.name + "改", "640105", y.industry_code]]
    before = db.session.scalar(select(Enterprise.version).where(Enterprise.id == x.id))
    with force_locale("en"):
        report = run(tmp_path, "enterprises", xlsx(rows))
    db.session.commit()
    assert report.updated == 1 and [r["row"] for r in report.rejects] == [2]
    assert "Someone else saved this record" in report.rejects[0]["reason"]
    db.session.refresh(x)
    db.session.refresh(y)
    assert (x.name, x.address, x.version) == ("兴庆智能装备有限公司", "别人改的", before + 1)
    assert y.name.endswith("改")
    assert _events(db, "enterprises", x.id) == [] and len(_events(db, "enterprises", y.id)) == 1


def test_the_policy_matches_are_refreshed_once_for_every_enterprise_written(world, tmp_path, monkeypatch):
    from crm.policies import services as policies

    calls = []
    monkeypatch.setattr(policies, "refresh_matches", lambda ids, **kw: calls.append(set(ids)))
    monkeypatch.setattr(services, "CHUNK", 2)
    rows = [["企业名称", "统一社会信用代码", "行政区划代码", "行业代码"]] + [
        [f"企业{i}", valid_uscc(9800 + i), "640104", "C35"] for i in range(5)] + [
        [world.ent_x.name + "改", world.ent_x.uscc, "640104", "C3511"]]
    report = run(tmp_path, "enterprises", xlsx(rows))
    assert report.created == 5 and report.updated == 1
    assert len(calls) == 1 and len(calls[0]) == 6 and world.ent_x.id in calls[0]


def test_the_candidate_ranks_are_refreshed_once_for_every_enterprise_written(world, tmp_path, monkeypatch):
    from crm.ladder import services as ladder

    calls = []
    monkeypatch.setattr(ladder, "refresh_ranks", lambda ids, **kw: calls.append(set(ids)))
    monkeypatch.setattr(services, "CHUNK", 2)
    rows = [["企业名称", "统一社会信用代码", "行政区划代码", "行业代码"]] + [
        [f"企业{i}", valid_uscc(9700 + i), "640104", "C35"] for i in range(3)] + [
        [world.ent_x.name + "改", world.ent_x.uscc, "640104", "C3511"]]
    report = run(tmp_path, "enterprises", xlsx(rows))
    assert report.created == 3 and report.updated == 1
    assert len(calls) == 1 and len(calls[0]) == 4 and world.ent_x.id in calls[0]


def test_the_filled_tables_are_analysed_as_they_grow_on_postgresql(world, tmp_path, db, monkeypatch):
    """Every ANALYZE_EVERY new rows and once before the re-ranking (PostgreSQL); SQLite needs none."""
    from sqlalchemy import event

    analysed = []

    def seen(_conn, _cursor, statement, *_args):
        if statement.startswith("ANALYZE"):
            analysed.append(statement)

    monkeypatch.setattr(services, "CHUNK", 2)
    monkeypatch.setattr(services, "ANALYZE_EVERY", 3)
    rows = [["企业名称", "统一社会信用代码", "行政区划代码", "行业代码"]] + [
        [f"企业{i}", valid_uscc(9600 + i), "640104", "C35"] for i in range(7)]
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        report = run(tmp_path, "enterprises", xlsx(rows))
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert report.created == 7
    # created after each chunk: 2, 4 (analysed), 6, 7 (analysed: 3 more since 4)
    assert analysed == (['ANALYZE "enterprises"'] * 2 if db.engine.dialect.name == "postgresql" else [])


def _figures_outcome(db, after_event: int):
    """The figures, the reports and the trail since `after_event`, each keyed by what it is about (not by id)."""
    from crm.enterprises.models import FigureReport

    figures = {(f.enterprise_id, f.year): f for f in db.session.scalars(select(AnnualFigures))}
    reports = {(r.enterprise_id, r.year, r.source): r for r in db.session.scalars(select(FigureReport))}
    about = {("annual_figures", f.id): k for k, f in figures.items()} | {
        ("figure_reports", r.id): k for k, r in reports.items()}
    events = sorted((e.action, e.entity_type, about[(e.entity_type, e.entity_id)], e.enterprise_id, e.summary,
                     e.actor_label, sorted(e.changes.items())) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.id > after_event, AuditEvent.entity_type.in_(
            ["annual_figures", "figure_reports"]))))
    return ({k: (f.revenue, f.employees, f.source, f.field_sources, f.verified, f.version) for k, f in figures.items()},
            {k: (r.revenue, r.employees, r.file_name, r.confirmed_at) for k, r in reports.items()}, events)


def test_a_figures_import_writes_and_records_what_save_report_does_row_by_row(world, tmp_path, db, monkeypatch):
    """The import stages save_report's writes (one flush and one INSERT of the trail a chunk): the same figures,
    reports and trail as the service saving each row at once."""
    from sqlalchemy import func

    from crm.enterprises import services as registry

    x, y = world.ent_x, world.ent_y
    admin = factories.user("admin")
    registry.save_figures(x, {"year": 2023, "revenue": Decimal("3200"), "employees": 80}, actor=admin)
    registry.save_report(y, 2023, "import", {"revenue": Decimal("900"), "employees": 10}, actor=admin)
    registry.save_report(y, 2021, "import", {"revenue": Decimal("800")}, actor=admin)
    db.session.commit()
    mark = db.session.scalar(select(func.max(AuditEvent.id)))
    monkeypatch.setattr(services, "CHUNK", 2)  # the rows span two chunks
    rows = [["统一社会信用代码", "年度", "营业收入", "职工总数"], [x.uscc, 2023, "3,500", 90], [y.uscc, 2023, "950", 10],
            [x.uscc, 2022, "1,000.5", 70], [y.uscc, 2021, "800", None]]
    report = run(tmp_path, "figures", xlsx(rows))
    assert (report.created, report.updated, report.unchanged, report.rejected) == (1, 2, 1, 0)
    staged = _figures_outcome(db, mark)
    db.session.rollback()
    for enterprise, year, values in [(x, 2023, {"revenue": Decimal("3500"), "employees": 90}),
                                     (y, 2023, {"revenue": Decimal("950"), "employees": 10}),
                                     (x, 2022, {"revenue": Decimal("1000.5"), "employees": 70})]:
        registry.save_report(enterprise, year, "import", values, actor="cli")
    one_by_one = _figures_outcome(db, mark)
    assert staged == one_by_one
    assert len(staged[2]) == 6  # x 2023: report created, figures updated; y 2023: both updated; x 2022: both created


def test_a_figures_import_rematches_once_for_every_enterprise_written(world, tmp_path, monkeypatch):
    from crm.ladder import services as ladder
    from crm.policies import services as policies

    matched, ranked = [], []
    monkeypatch.setattr(policies, "refresh_matches", lambda ids, **kw: matched.append(set(ids)))
    monkeypatch.setattr(ladder, "refresh_ranks", lambda ids, **kw: ranked.append(set(ids)))
    monkeypatch.setattr(services, "CHUNK", 1)
    x, y = world.ent_x, world.ent_y
    rows = [["统一社会信用代码", "年度", "营业收入"], [x.uscc, 2023, "3,500"], [y.uscc, 2023, "950"], [x.uscc, 2022, "10"]]
    report = run(tmp_path, "figures", xlsx(rows))
    assert report.created == 3
    assert matched == ranked == [{x.id, y.id}]


def test_figures_saved_by_someone_else_during_the_import_refuse_the_file(world, tmp_path, db, monkeypatch):
    """A year's figures saved by someone else after the import read them: the file is refused as a whole (the
    chunk's rows are flushed together), and the caller's rollback leaves nothing of it."""
    import pytest

    from crm.enterprises import services as registry
    from crm.io.documents import FileRefused

    x = world.ent_x
    registry.save_report(x, 2023, "import", {"revenue": Decimal("900")}, actor="cli")
    db.session.commit()
    real = services._FigureRows.prefetch

    def prefetch_then_someone_saves(self, rows):
        real(self, rows)
        table = AnnualFigures.__table__
        db.session.execute(update(table).where(table.c.enterprise_id == x.id).values(version=table.c.version + 1))

    monkeypatch.setattr(services._FigureRows, "prefetch", prefetch_then_someone_saves)
    rows = [["统一社会信用代码", "年度", "营业收入"], [x.uscc, 2023, "3,500"]]
    with pytest.raises(FileRefused) as refused:
        run(tmp_path, "figures", xlsx(rows))
    assert "导入过程中有人保存了本文件所涉企业的年度数据，本次未导入任何数据" in str(refused.value.message)
    db.session.rollback()  # the caller's (crm.io.jobs, the command line)
    from crm.enterprises.models import FigureReport

    assert db.session.scalar(select(FigureReport.revenue).where(FigureReport.enterprise_id == x.id)) == Decimal("900")
