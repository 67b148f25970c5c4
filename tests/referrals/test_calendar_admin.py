"""The admin's working-day calendar: list a year, add and remove dates, import a year from CSV or Excel (all or
nothing); and department users created in the users admin."""
from datetime import date
from io import BytesIO

from openpyxl import Workbook
from sqlalchemy import func, select

from crm.auth.models import User
from crm.core.audit import AuditEvent
from crm.core.workdays import CalendarDay, add_working_days
from crm.demo.calendar import rows_2026
from tests import factories
from tests.helpers import text


def _days(db):
    return {d.day: d.kind for d in db.session.scalars(select(CalendarDay))}


def test_add_and_remove_a_date(client, login_as, db):
    login_as("admin")
    assert client.post("/admin/calendar/days", data={"day": "2026-10-01", "kind": "holiday",
                                                      "name": "国庆节"}).status_code == 303
    # a make-up working day falls on a weekend; a date is entered once
    assert client.post("/admin/calendar/days", data={"day": "2026-10-09", "kind": "workday"}).status_code == 422
    assert client.post("/admin/calendar/days", data={"day": "2026-10-01", "kind": "holiday"}).status_code == 422
    assert client.post("/admin/calendar/days", data={"day": "2026-10-10", "kind": "workday"}).status_code == 303
    assert _days(db) == {date(2026, 10, 1): "holiday", date(2026, 10, 10): "workday"}
    assert "国庆节" in text(client.get("/admin/calendar?year=2026"))
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 2)
    entry = db.session.scalar(select(CalendarDay).where(CalendarDay.day == date(2026, 10, 1)))
    assert client.post(f"/admin/calendar/days/{entry.id}/delete").status_code == 303
    assert _days(db) == {date(2026, 10, 10): "workday"}
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "calendar_days").order_by(AuditEvent.id))]
    assert actions == ["create", "create", "delete"]


def _csv(rows) -> bytes:
    return ("日期,类型,名称\n" + "".join(f"{d},{k},{n}\n" for d, k, n in rows)).encode("utf-8-sig")


def test_import_a_year_from_csv_replaces_it(client, login_as, db):
    login_as("admin")
    db.session.add(CalendarDay(day=date(2026, 3, 2), kind="holiday", name="旧"))
    db.session.add(CalendarDay(day=date(2025, 10, 1), kind="holiday", name="2025"))
    db.session.commit()
    rows = [(d.isoformat(), "放假" if k == "holiday" else "上班", n) for d, k, n in rows_2026()]
    response = client.post("/admin/calendar/import", data={"year": "2026", "file": (BytesIO(_csv(rows)),
                                                                                    "2026.csv")})
    assert response.status_code == 303
    days = _days(db)
    assert len(days) == 40 and date(2026, 3, 2) not in days and date(2025, 10, 1) in days  # other years kept
    assert days[date(2026, 2, 14)] == "workday" and days[date(2026, 10, 7)] == "holiday"
    assert add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)


def test_import_from_excel_with_dates_and_english_headers(client, login_as, db):
    login_as("admin")
    wb = Workbook()
    ws = wb.active
    ws.append(["Date", "Kind", "Name"])
    ws.append([date(2026, 10, 1), "holiday", "National Day"])
    ws.append(["2026年10月10日", "workday", "National Day"])
    buffer = BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    assert client.post("/admin/calendar/import", data={"year": "2026", "file": (buffer, "cal.xlsx")}).status_code == 303
    assert _days(db) == {date(2026, 10, 1): "holiday", date(2026, 10, 10): "workday"}


def test_a_bad_row_refuses_the_whole_file(client, login_as, db):
    login_as("admin", locale="en")
    db.session.add(CalendarDay(day=date(2026, 3, 2), kind="holiday", name="旧"))
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    for rows in ([("2026-10-01", "放假", "国庆"), ("2026-10-09", "上班", "周五不是调休")],
                 [("2026-10-01", "放假", "国庆"), ("2027-01-01", "放假", "元旦")],
                 [("2026-10-01", "放假", "国庆"), ("not a date", "放假", "")],
                 [("2026-10-01", "休息吧", "国庆")]):
        response = client.post("/admin/calendar/import", data={"year": "2026", "file": (BytesIO(_csv(rows)),
                                                                                        "x.csv")})
        assert response.status_code == 422
        assert "Row 3" in text(response) or "Row 2" in text(response)
    response = client.post("/admin/calendar/import", data={"year": "2026", "file": (BytesIO(b"a,b\n1,2\n"),
                                                                                    "x.csv")})
    assert response.status_code == 422
    assert _days(db) == {date(2026, 3, 2): "holiday"}
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_admins_create_department_users(client, login_as, db):
    tax = factories.department("区税务局")
    retired = factories.department("旧部门", active=False)
    db.session.commit()
    login_as("admin")
    data = {"username": "dept_tax", "name": "刘税政", "role": "department", "password": "Miaopu-2026-x",
            "active": "y"}
    assert client.post("/admin/users/new", data=data).status_code == 422  # a department is required
    assert client.post("/admin/users/new", data={**data, "department_id": retired.id}).status_code == 422
    assert client.post("/admin/users/new", data={**data, "department_id": tax.id}).status_code == 303
    user = db.session.scalar(select(User).where(User.username == "dept_tax"))
    assert (user.role, user.department_id, user.region_id) == ("department", tax.id, None)
    assert "区税务局" in text(client.get("/admin/users"))
