"""The portal's Excel upload: the io templates for the enterprise's own figures and IP, read by io's reader and
row checks, submitted (all or nothing) as pending submissions for the officer's review."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.core import clock
from crm.core.audit import AuditEvent
from crm.enterprises.models import AnnualFigures, IntellectualProperty
from crm.portal.models import Submission
from tests import factories
from tests.helpers import text
from tests.io.sheets import csv_bytes, xlsx

Y = clock.today().year - 1


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def people(world, db):
    officer = factories.user("officer", region=world.county_x, username="lixm", name="李晓梅", serves=[world.ent_x])
    contact = factories.user("enterprise", enterprise=world.ent_x, username="zhang", name="张经理", locale="en")
    other = factories.user("enterprise", enterprise=world.ent_y, username="other", name="西夏联系人", locale="en")
    db.session.commit()
    return {"officer": officer, "contact": contact, "other": other}


def _template(client, url="/portal/figures/template.xlsx"):
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(response.data))


def _upload(client, data: bytes, url="/portal/figures/upload", name="figures.xlsx"):
    return client.post(url, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _saved(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _column(ws, header: str) -> int:
    for cell in ws[1]:
        if str(cell.value or "").lstrip("*").startswith(header):
            return cell.column
    raise AssertionError(f"no column {header!r}")


HEADERS = ["统一社会信用代码", "年度", "营业收入（万元）", "研发费用（万元）", "职工总数"]


def test_the_figures_template_is_ios_filled_in_for_the_own_enterprise(client, login_as, world, people, db):
    factories.figures(world.ent_x, Y)
    db.session.commit()
    login_as(people["contact"])
    wb = _template(client)
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["*Unified social credit code", "Enterprise name", "*Year"]
    row = [c.value for c in ws[2]]
    assert row[:3] == [world.ent_x.uscc, world.ent_x.name, Y]
    assert Decimal(str(ws.cell(2, _column(ws, "Revenue")).value)) == Decimal("3200.00")  # the figures on record
    assert ws.max_row == 2  # no example row: the first row is ours
    notes = " ".join(str(c.value) for r in wb["Notes"].iter_rows() for c in r if c.value)
    assert "Only rows with your enterprise's unified social credit code" in notes
    assert "example row" not in notes
    ip = _template(client, "/portal/ip/template.xlsx").worksheets[0]
    assert [c.value for c in ip[2]][:2] == [world.ent_x.uscc, world.ent_x.name]
    assert "*Kind" in [c.value for c in ip[1]]


def test_uploading_the_filled_template_sends_pending_submissions_to_the_officer(client, login_as, world, people, db):
    factories.figures(world.ent_x, Y)
    db.session.commit()
    login_as(people["contact"])
    wb = _template(client)
    ws = wb.worksheets[0]
    ws.cell(2, _column(ws, "R&D expense")).value = 260
    ws.append([world.ent_x.uscc, world.ent_x.name, Y - 1, 2900, 150])  # another year: a row of its own
    before = _count(db, AuditEvent)
    response = _upload(client, _saved(wb))
    assert response.status_code == 303, text(response)
    subs = list(db.session.scalars(select(Submission).order_by(Submission.year)))
    assert [(s.year, s.status, s.kind) for s in subs] == [(Y - 1, "pending", "figures"), (Y, "pending", "figures")]
    assert (subs[1].data["rd_expense"], subs[1].base["rd_expense"], subs[1].data["revenue"]) == (
        "260.00", "180.00", "3200.00")
    assert subs[0].data["revenue"] == "2900.00" and subs[0].submitted_by_id == people["contact"].id
    assert _count(db, AuditEvent) == before + 2
    assert db.session.scalar(select(AnnualFigures.rd_expense)) == Decimal("180.00")  # not counted yet
    assert "sent to your service officer" in text(client.get(response.headers["Location"]))
    # the officer reviews them as any other submission
    login_as(people["officer"])
    queue = text(client.get("/submissions"))
    assert queue.count(world.ent_x.name) >= 2
    assert client.get(f"/submissions/{subs[1].id}").status_code == 200
    assert client.post(f"/submissions/{subs[1].id}/accept", data={"version": subs[1].version}).status_code == 303
    assert db.session.scalar(select(AnnualFigures.rd_expense).where(AnnualFigures.year == Y)) == Decimal("260.00")


def test_a_csv_with_chinese_headers_and_a_missing_column_keeps_the_figure_on_record(client, login_as, world, people,
                                                                                       db):
    factories.figures(world.ent_x, Y)
    db.session.commit()
    login_as(people["contact"])
    data = csv_bytes([["统一社会信用代码", "年度", "研发费用（万元）"], [world.ent_x.uscc, f"{Y}年", "２６０"]])
    assert _upload(client, data, name="figures.csv").status_code == 303
    sub = db.session.scalar(select(Submission))
    assert (sub.data["rd_expense"], sub.data["revenue"], sub.data["employees"]) == ("260.00", "3200.00", 85)


def _refused(client, db, data: bytes, *messages, url="/portal/figures/upload", name="figures.xlsx"):
    before = (_count(db, Submission), _count(db, AuditEvent))
    response = _upload(client, data, url=url, name=name)
    page = text(response)
    assert response.status_code == 422, page
    for message in messages:
        assert message in page, message
    assert (_count(db, Submission), _count(db, AuditEvent)) == before
    return page


def test_a_row_of_another_enterprise_rejects_the_whole_file(client, login_as, world, people, db):
    login_as(people["contact"])
    data = xlsx([HEADERS, [world.ent_x.uscc, Y, 3200, 180, 85], [world.ent_y.uscc, Y, 100, 10, 5]])
    page = _refused(client, db, data, "Nothing was sent", "Row 3, 统一社会信用代码: This row is for another enterprise",
                    world.ent_y.uscc)
    assert "Row 2" not in page


def test_a_bad_number_and_a_broken_rule_are_listed_by_row_and_column(client, login_as, world, people, db):
    login_as(people["contact"])
    uscc = world.ent_x.uscc
    data = xlsx([HEADERS, [uscc, Y, "三千", 180, 85], [uscc, Y - 1, 3000, 180, -5], [uscc, Y - 2, 3000, 180, 85],
                 [uscc, Y - 2, 3100, 180, 85], [uscc, Y - 3, None, None, None], [uscc, Y + 2, 3000, 180, 85]])
    _refused(client, db, data, "Row 2, 营业收入（万元）: Enter a number", "Row 3, 职工总数: Enter a whole number",
             "Row 5, 年度: This row repeats row 4", "Row 6, 年度: No figures in this row",
             "Row 7, 年度: The year must be")


def test_files_that_are_not_spreadsheets_or_too_long_are_refused(client, login_as, world, people, db):
    login_as(people["contact"])
    _refused(client, db, b"%PDF-1.4 not a sheet", "This is not an Excel workbook (.xlsx) or a CSV file.", name="a.xlsx")
    _refused(client, db, b"\xd0\xcf\x11\xe0" + b"\0" * 100, "old Excel 97", name="a.xls")
    _refused(client, db, b"", "Choose a file to upload.", name="")
    _refused(client, db, xlsx([["名称", "地址"], ["x", "y"]]), "No header row found")
    rows = [HEADERS] + [[world.ent_x.uscc, 2000 + n, 100, 10, 5] for n in range(21)]
    _refused(client, db, xlsx(rows), "more than 20 rows")
    _refused(client, db, xlsx([HEADERS]), "The file holds no rows to submit.")


def test_ip_upload_reports_items_for_review(client, login_as, world, people, db):
    login_as(people["contact"])
    wb = _template(client, "/portal/ip/template.xlsx")
    ws = wb.worksheets[0]
    for header, value in (("Kind", "发明专利"), ("Title", "一种装置"), ("Number", "ZL202310000001.X"),
                          ("Granted on", "2023-05-06")):
        ws.cell(2, _column(ws, header)).value = value
    ws.append([world.ent_x.uscc, None, "software_copyright", "管理软件", "2023SR000001", None, "否", "是"])
    response = _upload(client, _saved(wb), url="/portal/ip/upload", name="ip.xlsx")
    assert response.status_code == 303, text(response)
    subs = list(db.session.scalars(select(Submission).order_by(Submission.id)))
    assert [(s.kind, s.status, s.data["number"]) for s in subs] == [("ip", "pending", "ZL202310000001.X"),
                                                                    ("ip", "pending", "2023SR000001")]
    assert subs[0].data["is_valid"] is True and subs[0].data["used_in_earlier_application"] is False
    assert subs[0].data["granted_on"] == "2023-05-06"
    assert subs[1].data["is_valid"] is False and subs[1].data["used_in_earlier_application"] is True
    assert _count(db, IntellectualProperty) == 0  # counts once accepted
    # an unknown kind and another enterprise's row: nothing
    data = xlsx([["统一社会信用代码", "类型", "名称", "编号"], [world.ent_x.uscc, "商标", "x", "1"],
                 [world.ent_y.uscc, "发明专利", "y", "2"]])
    _refused(client, db, data, "Row 2, 类型:", "Row 3, 统一社会信用代码: This row is for another enterprise",
             url="/portal/ip/upload")


def test_another_enterprise_never_sees_the_uploaded_submissions(client, login_as, world, people, db):
    login_as(people["contact"])
    assert _upload(client, xlsx([HEADERS, [world.ent_x.uscc, Y, 3200, 180, 85]])).status_code == 303
    sub = db.session.scalar(select(Submission))
    login_as(people["other"])
    page = text(client.get("/portal/figures"))
    assert world.ent_x.name not in page and "3200" not in page
    assert client.get(f"/portal/submissions/{sub.id}").status_code == 404
    wb = _template(client)
    assert wb.worksheets[0].cell(2, 1).value == world.ent_y.uscc


def test_staff_get_403_on_the_portal_upload_routes(client, login_as, world, people, db):
    data = xlsx([HEADERS, [world.ent_x.uscc, Y, 3200, 180, 85]])
    for user in (people["officer"], "admin", "manager"):
        if user == "manager":
            login_as(user, region=world.city)
        else:
            login_as(user)
        for url in ("/portal/figures/template.xlsx", "/portal/ip/template.xlsx"):
            assert client.get(url).status_code == 403
        for url in ("/portal/figures/upload", "/portal/ip/upload"):
            assert _upload(client, data, url=url).status_code == 403
    assert _count(db, Submission) == 0
