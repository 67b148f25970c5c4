"""Importing enterprises: the ugly spreadsheet, per-row errors, upserts, scope, the transaction guarantees."""
from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.io import services
from crm.io.documents import FileRefused, read_table
from tests import factories
from tests.io.sheets import last_years_enterprises, valid_uscc, xlsx


def run(tmp_path, kind, data: bytes, actor="cli", name="f.xlsx"):
    path = tmp_path / name
    path.write_bytes(data)
    table = read_table(path, kind)
    try:
        return services.import_table(kind, table, actor=actor)
    finally:
        table.close()


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_last_years_spreadsheet(world, tmp_path):
    data, expected = last_years_enterprises()
    with force_locale("zh_Hans_CN"):
        report = run(tmp_path, "enterprises", data)
    db.session.commit()
    assert report.created == 3 and report.updated == 0
    assert {e.uscc for e in db.session.scalars(select(Enterprise).where(Enterprise.uscc.in_(expected["created"])))} \
        == expected["created"]
    by_row = {}
    for r in report.rejects:
        by_row.setdefault(r["row"], []).append(r)
    assert set(by_row) == {8, 9, 10}
    assert by_row[8] == [{"row": 8, "column": "统一社会信用代码", "reason": "校验位错误"}]
    assert {r["column"] for r in by_row[9]} == {"技术领域", "是否规上"}
    assert report.ignored_columns == ["序号", "备注"]
    e2 = db.session.scalar(select(Enterprise).where(Enterprise.name == "宁夏乙材料有限公司"))
    assert e2.region.code == "6401P1" and e2.established_on == date(2018, 3, 12) and e2.is_above_scale is False
    e1 = db.session.scalar(select(Enterprise).where(Enterprise.name == "宁夏甲科技有限公司"))
    assert e1.industry_code == "C3511" and e1.tech_domain == "advanced_manufacturing" and e1.is_above_scale
    assert e1.established_on == date(2016, 5, 18)
    # the same file again: nothing new, nothing changed
    report = run(tmp_path, "enterprises", data)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)


def test_unknown_region_is_rejected_on_its_column(world, tmp_path):
    data, _ = last_years_enterprises()
    report = run(tmp_path, "enterprises", data)
    row9 = [r for r in report.rejects if r["row"] == 9]
    assert any(r["column"] == "技术领域" for r in row9)
    # with a valid domain and yes/no, the unknown region is the reason
    rows = [["企业名称", "统一社会信用代码", "行政区划代码", "行业代码"],
            ["某公司", valid_uscc(9100), "999999", "C35"]]
    with force_locale("en"):
        report = run(tmp_path, "enterprises", xlsx(rows))
    assert report.rejects == [{"row": 2, "column": "行政区划代码", "reason": "Unknown region code."}]


def test_update_shows_changes_and_keeps_absent_columns(world, tmp_path):
    e = world.ent_x
    rows = [["统一社会信用代码", "企业名称", "行政区划代码", "行业代码"], [e.uscc, "兴庆智能装备股份有限公司", "640104", "C3511"]]
    report = run(tmp_path, "enterprises", xlsx(rows))
    db.session.commit()
    assert report.updated == 1
    assert report.changes[0]["changes"] == {"企业名称": ["兴庆智能装备有限公司", "兴庆智能装备股份有限公司"]}
    db.session.refresh(e)
    assert e.name == "兴庆智能装备股份有限公司" and e.tech_domain == "advanced_manufacturing"  # absent column kept


def test_the_park_stays_when_the_file_names_the_county(world, tmp_path):
    e = world.ent_park
    rows = [["统一社会信用代码", "企业名称", "行政区划代码", "行业代码"], [e.uscc, e.name, "640104", e.industry_code]]
    report = run(tmp_path, "enterprises", xlsx(rows))
    assert report.unchanged == 1


def test_duplicate_rows_in_the_file(world, tmp_path):
    u = valid_uscc(9200)
    rows = [["企业名称", "统一社会信用代码", "行政区划代码", "行业代码"], ["甲", u, "640104", "C35"], ["乙", u, "640104", "C35"]]
    with force_locale("en"):
        report = run(tmp_path, "enterprises", xlsx(rows))
    assert report.created == 1
    assert report.rejects == [{"row": 3, "column": "统一社会信用代码", "reason": "This row repeats row 2 (the same key)."}]


def test_missing_required_column_refuses_the_file(world, tmp_path):
    rows = [["企业名称", "统一社会信用代码", "行业代码"], ["甲", valid_uscc(9300), "C35"]]
    with pytest.raises(FileRefused) as refused, force_locale("en"):
        run(tmp_path, "enterprises", xlsx(rows))
    assert "Region code" in str(refused.value)


def test_officer_imports_within_scope(world, tmp_path, db):
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    db.session.commit()
    rows = [["企业名称", "统一社会信用代码", "行政区划代码", "行业代码"],
            ["新企业", valid_uscc(9400), "640104", "C35"],       # own county: created, and assigned to them
            ["外区企业", valid_uscc(9401, "640105"), "640105", "C35"],  # another county: refused
            [world.ent_x.name + "改", world.ent_x.uscc, "640104", "C3511"],  # served: updated
            [world.ent_park.name + "改", world.ent_park.uscc, "640104", "C3511"],  # not served: refused
            [world.ent_y.name, world.ent_y.uscc, "640105", "C3511"]]  # outside the region: refused
    with force_locale("en"):
        report = run(tmp_path, "enterprises", xlsx(rows), actor=officer)
    assert (report.created, report.updated) == (1, 1)
    assert {r["row"]: r["column"] for r in report.rejects} == {3: "行政区划代码", 5: "统一社会信用代码",
                                                               6: "统一社会信用代码"}
    from crm.service.queries import serves

    created = db.session.scalar(select(Enterprise).where(Enterprise.name == "新企业"))
    assert serves(officer, created)


def test_formulas_and_huge_cells_reject_the_row(world, tmp_path):
    rows = [["企业名称", "统一社会信用代码", "行政区划代码", "行业代码"],
            ["=HYPERLINK(\"http://x\",\"点我\")", valid_uscc(9500), "640104", "C35"],
            ["甲" * 3000, valid_uscc(9501), "640104", "C35"]]
    with force_locale("en"):
        report = run(tmp_path, "enterprises", xlsx(rows))
    assert report.created == 0
    assert [r["row"] for r in report.rejects] == [2, 3]
    assert "Formulas" in report.rejects[0]["reason"] and "characters" in report.rejects[1]["reason"]


def test_rejected_rows_write_nothing_and_audit_only_the_accepted(world, tmp_path):
    before = count(AuditEvent)
    data, _ = last_years_enterprises()
    run(tmp_path, "enterprises", data)
    db.session.commit()
    assert count(Enterprise) == 4 + 3
    assert count(AuditEvent) == before + 3
