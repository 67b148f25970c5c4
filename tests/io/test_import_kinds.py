"""Figures, IP and certifications: per-row errors by the forms' and services' rules; every template round-trips."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import select

from crm.enterprises.models import AnnualFigures
from crm.extensions import db
from crm.io import queries
from crm.io.documents import example_uscc, template_bytes
from crm.ladder.models import Certification
from tests import factories
from tests.io.sheets import csv_bytes, xlsx
from tests.io.test_import_enterprises import run

FIG_HEADERS = ["统一社会信用代码", "企业名称", "年度", "营业收入（万元）", "高新技术产品（服务）收入（万元）", "研发费用 (万元)",
               "境内研发费用", "职工总数", "科技人员", "研发人员"]


def test_figures_with_thousands_separators_and_per_row_errors(world, tmp_path):
    e = world.ent_x
    rows = [FIG_HEADERS,
            [e.uscc, e.name, "2023年", "3,200.50", "2300", "１８０", 180, 85, 14, 10],
            [e.uscc, e.name, 2022, 1000, 1200, 50, 50, 10, 3, 2],          # high-tech revenue > revenue
            [e.uscc, e.name, 2021, "3200,5", None, None, None, None, None, None],  # not a number
            [e.uscc, e.name, 2020, 100, None, None, None, 10, 12, None],   # tech staff > employees
            [e.uscc, e.name, 2019, "1.234", None, None, None, None, None, None],  # three places
            [e.uscc, e.name, 2035, 1, None, None, None, None, None, None],  # future year
            [e.uscc, e.name, 2018, None, None, None, None, "八十五", None, None],  # not a count
            [factories.uscc(), "无此企业", 2023, 1, None, None, None, None, None, None],  # no such enterprise
            [e.uscc, e.name, 2023, 1, None, None, None, None, None, None]]  # repeats row 2
    with force_locale("en"):
        report = run(tmp_path, "figures", xlsx(rows))
    db.session.commit()
    assert report.created == 1
    reasons = {r["row"]: (r["column"], r["reason"]) for r in report.rejects}
    assert reasons == {
        3: ("高新技术产品（服务）收入（万元）", "High-tech revenue cannot exceed revenue."),
        4: ("营业收入（万元）", "Enter a number, e.g. 1234.5."),
        5: ("科技人员", "Tech staff cannot exceed employees."),
        6: ("营业收入（万元）", "At most two decimal places (amounts are in 10k CNY)."),
        7: ("年度", f"The year must be between 1980 and {date.today().year}."),
        8: ("职工总数", "Enter a whole number of people, e.g. 85."),
        9: ("统一社会信用代码", "No enterprise with this unified social credit code in your scope; import or "
                        "register the enterprise first."),
        10: ("年度", "This row repeats row 2 (the same key)."),
    }
    f = db.session.scalar(select(AnnualFigures).where(AnnualFigures.enterprise_id == e.id))
    assert (f.year, f.revenue, f.rd_expense, f.source) == (2023, Decimal("3200.50"), Decimal("180.00"), "import")


def test_figures_update_unverifies_and_reports_changes(world, tmp_path, db):
    e = world.ent_x
    f = factories.figures(e, 2023, verified=True)
    db.session.commit()
    rows = [["统一社会信用代码", "年度", "营业收入"], [e.uscc, 2023, "3,500"]]
    report = run(tmp_path, "figures", xlsx(rows))
    db.session.commit()
    assert report.updated == 1 and report.changes[0]["changes"] == {"营业收入": ["3200.00", "3500"]}
    db.session.refresh(f)
    assert f.revenue == Decimal("3500.00") and f.verified is False and f.rd_expense == Decimal("180.00")


def test_ip_and_certifications(world, tmp_path):
    e = world.ent_x
    ip_rows = [["统一社会信用代码", "类型", "名称", "专利号", "授权日期", "是否有效"],
               [e.uscc, "发明专利", "一种装置", "ZL1", date(2022, 3, 1), "是"],
               [e.uscc, "实用新型专利", "一种结构", "ZL2", "2023.4.5", None],
               [e.uscc, "商标", "x", "ZL3", None, None]]
    with force_locale("en"):
        report = run(tmp_path, "ip", xlsx(ip_rows))
    assert report.created == 2 and [(r["row"], r["column"]) for r in report.rejects] == [(4, "类型")]
    cert_rows = [["统一社会信用代码", "资质类型", "证书编号", "发证日期", "有效期至"],
                 [e.uscc, "国家高新技术企业", "GR202464000001", "2024-11-20", None],
                 [e.uscc, "high_tech", "GR202464000002", "2024-12-01", None],   # overlaps the first
                 [e.uscc, "tech_sme", "2024640100000001", "2030-01-01", None]]  # issued in the future
    with force_locale("en"):
        report = run(tmp_path, "certifications", xlsx(cert_rows))
    db.session.commit()
    assert report.created == 1 and [r["row"] for r in report.rejects] == [3, 4]
    cert = db.session.scalar(select(Certification))
    assert cert.expires_on == date(2027, 11, 19) and not cert.expiry_overridden
    db.session.refresh(e)
    assert e.current_tier == "high_tech"


@pytest.mark.parametrize("kind", ["enterprises", "figures", "ip", "certifications"])
@pytest.mark.parametrize("lang", ["zh_Hans_CN", "en"])
def test_every_export_round_trips_unchanged(world, tmp_path, db, kind, lang):
    for e in (world.ent_x, world.ent_park, world.ent_y):
        factories.figures(e, 2023, net_assets=Decimal("-20.50"))
        factories.figures(e, 2022, revenue=Decimal("1234567.89"), hightech_revenue=None, rd_expense=None,
                          rd_expense_domestic=None)
        factories.ip(e, "software_copyright", used_in_earlier_application=True, granted_on=None)
        factories.certification(e, "tech_sme", issued_on=date(2024, 3, 1))
    world.ent_x.name = "=HYPERLINK(\"x\")有限公司"
    world.ent_y.address = "+86 路"
    db.session.commit()
    path = tmp_path / f"{kind}.xlsx"
    with force_locale(lang):
        n = queries.write_export(kind, queries.SYSTEM, {}, path)
    assert n >= 3
    ws = load_workbook(path).active
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not any(t.startswith(("=", "+", "@")) for t in texts)  # formula injection: escaped
    report = run(tmp_path, kind, path.read_bytes(), name=f"{kind}-again.xlsx")
    assert report.rejects == [] and (report.created, report.updated) == (0, 0)
    assert report.unchanged == n and report.ignored_columns == []


@pytest.mark.parametrize("kind", ["enterprises", "figures", "ip", "certifications"])
def test_templates_read_back_with_the_example_row_skipped(world, tmp_path, kind):
    with force_locale("zh_Hans_CN"):
        data = template_bytes(kind, [("640104", "兴庆区")], [("6401P1", "园区")])
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames[0] and len(wb.sheetnames) == 3
    data_sheet = wb.worksheets[0]
    # drop-downs for the code lists (figures have none: amounts and counts only)
    assert bool(data_sheet.data_validations.dataValidation) == (kind != "figures")
    assert wb.worksheets[2].max_row > 5  # the notes: one line per column and the rules
    assert data_sheet.cell(row=2, column=[c.value for c in data_sheet[1]].index(
        next(c.value for c in data_sheet[1] if "统一社会信用代码" in str(c.value) or "social credit" in str(
            c.value))) + 1).value == example_uscc()
    report = run(tmp_path, kind, data)
    assert report.total == 0 and report.rejects == [] and report.skipped_example == 1


def test_csv_in_gb18030_with_a_tab_delimiter(world, tmp_path):
    e = world.ent_x
    rows = [["统一社会信用代码", "年度", "营业收入（万元）"], [e.uscc, "2023", "1,000"]]
    data = csv_bytes(rows, "gb18030").replace(b",", b"\t").replace(b'"1\t000"', b'"1,000"')
    report = run(tmp_path, "figures", data, name="f.csv")
    assert report.created == 1, report.rejects
