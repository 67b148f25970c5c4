"""Events and training: sign-up one by one or by an Excel list (all or nothing, rejected rows reported),
attendance informing the attendees of the policies presented, so that the policy's awareness rate moves."""
from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from crm.events import services
from crm.events.models import Event, EventAttendee
from crm.policies import queries as policy_queries
from crm.policies.models import PolicyPush
from tests import factories
from tests.helpers import text


@pytest.fixture
def people(world, db):
    p = {"admin": factories.user("admin"), "manager": factories.user("manager", region=world.city),
         "other_manager": factories.user("manager", region=world.other_city),
         "officer": factories.user("officer", region=world.county_x, serves=[world.ent_x])}
    db.session.commit()
    return p


@pytest.fixture
def briefing(world, people, db):
    policy = factories.policy("研发费用加计扣除")
    event = services.create_event({"kind": "briefing", "topic": "2025年科技政策宣讲会", "held_on": date(2025, 4, 18),
                                   "place": "银川市科技局三楼会议室", "region_id": world.city.id}, [policy],
                                  actor=people["manager"])
    db.session.commit()
    return event


def _xlsx(rows, headers=("统一社会信用代码（必填）", "参会人")) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def test_attendance_informs_and_the_awareness_rate_moves(client, login_as, world, people, briefing, db):
    policy = briefing.policies[0]
    before = policy_queries.match(policy, people["manager"])
    assert before.informed == 0
    login_as(people["manager"])
    assert client.post(f"/events/{briefing.id}/attendees", data={"uscc": world.ent_x.uscc, "person": "张总"}
                       ).status_code == 303
    assert client.post(f"/events/{briefing.id}/attendees", data={"uscc": world.ent_y.uscc}).status_code == 303
    attendees = {a.enterprise_id: a for a in db.session.scalars(select(EventAttendee))}
    # signing up alone informs nobody
    assert policy_queries.match(policy, people["manager"]).informed == 0
    response = client.post(f"/events/{briefing.id}/attendance", data={"present": [attendees[world.ent_x.id].id]})
    assert response.status_code == 303
    after = policy_queries.match(policy, people["manager"])
    assert after.informed == 1
    assert after.rate(after.informed, len(after.eligible)) > before.rate(before.informed, len(before.eligible))
    push = db.session.scalar(select(PolicyPush))
    assert (push.enterprise_id, push.status, push.informed_on) == (world.ent_x.id, "informed", date(2025, 4, 18))
    page = text(client.get(f"/policies/{policy.id}"))
    assert 'data-count="informed">1<' in page
    # saving again changes nothing; unticking keeps the enterprise informed (it heard the policy)
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    client.post(f"/events/{briefing.id}/attendance", data={"present": [attendees[world.ent_x.id].id]})
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    client.post(f"/events/{briefing.id}/attendance", data={})
    db.session.refresh(attendees[world.ent_x.id])
    assert attendees[world.ent_x.id].attended is False
    assert policy_queries.match(policy, people["manager"]).informed == 1


def test_sign_up_by_uscc_within_scope_once(client, login_as, world, people, briefing, db):
    login_as(people["manager"])
    assert client.post(f"/events/{briefing.id}/attendees", data={"uscc": world.ent_z.uscc}).status_code == 422
    assert client.post(f"/events/{briefing.id}/attendees", data={"uscc": "123"}).status_code == 422
    assert client.post(f"/events/{briefing.id}/attendees", data={"uscc": world.ent_x.uscc}).status_code == 303
    assert client.post(f"/events/{briefing.id}/attendees", data={"uscc": world.ent_x.uscc}).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(EventAttendee)) == 1
    login_as(people["other_manager"])
    assert client.get(f"/events/{briefing.id}").status_code == 404


def test_an_attendee_list_with_a_bad_row_writes_nothing_and_names_the_rows(client, login_as, world, people,
                                                                          briefing, db):
    people["manager"].locale = "en"  # the report's words, in the manager's language
    db.session.commit()
    login_as(people["manager"])
    data = _xlsx([(world.ent_x.uscc, "张总"), ("91640100MA00000000", "李四"), (world.ent_z.uscc, ""),
                  (world.ent_x.uscc, "王五")])
    response = client.post(f"/events/{briefing.id}/attendees/import",
                           data={"file": (BytesIO(data), "名单.xlsx"), "attended": "y"},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    page = text(response)
    assert 'id="import-rejects"' in page
    assert "<li>Row 3: Check digit is wrong.</li>" in page
    assert "<li>Row 4: No enterprise with this USCC in your scope.</li>" in page  # another city's enterprise
    assert "<li>Row 5: The same USCC is on row 2.</li>" in page
    assert db.session.scalar(select(func.count()).select_from(EventAttendee)) == 0
    assert db.session.scalar(select(func.count()).select_from(PolicyPush)) == 0


def test_the_import_report_lists_each_rejected_row(world, people, briefing, db):
    data = _xlsx([(world.ent_x.uscc, "张总"), ("91640100MA00000000", "李四"), (world.ent_z.uscc, ""),
                  (world.ent_x.uscc, "王五"), (None, None)])
    report = services.import_attendees(briefing, data, actor=people["manager"], scope_user=people["manager"],
                                       attended=True)
    assert [row for row, _reason in report.rejected] == [3, 4, 5]
    assert db.session.scalar(select(func.count()).select_from(EventAttendee)) == 0


def test_a_good_list_signs_up_and_marks_present(client, login_as, world, people, briefing, db):
    login_as(people["manager"])
    client.post(f"/events/{briefing.id}/attendees", data={"uscc": world.ent_y.uscc})
    data = _xlsx([(world.ent_x.uscc.lower(), "张总"), (world.ent_y.uscc, "")], headers=("USCC", "Attendee"))
    response = client.post(f"/events/{briefing.id}/attendees/import",
                           data={"file": (BytesIO(data), "list.xlsx"), "attended": "y"},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    rows = {a.enterprise_id: a for a in db.session.scalars(select(EventAttendee))}
    assert set(rows) == {world.ent_x.id, world.ent_y.id} and all(a.attended for a in rows.values())
    assert rows[world.ent_x.id].person == "张总"
    assert db.session.scalar(select(func.count()).select_from(PolicyPush)) == 2


@pytest.mark.parametrize("payload", [b"", b"<html>not excel</html>", b"PK\x03\x04broken"])
def test_unreadable_files_are_refused(client, login_as, world, people, briefing, db, payload):
    login_as(people["manager"])
    response = client.post(f"/events/{briefing.id}/attendees/import",
                           data={"file": (BytesIO(payload), "x.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(EventAttendee)) == 0


def test_organising_an_event(client, login_as, world, people, db):
    policy = factories.policy("高企认定奖补")
    db.session.commit()
    login_as(people["manager"])
    assert client.post("/events/new", data={"kind": "training", "topic": "", "region_id": world.city.id}
                       ).status_code == 422
    response = client.post("/events/new", data={"kind": "training", "topic": "高企申报培训", "held_on": "2025-05-20",
                                                "region_id": world.county_x.id, "policy_ids": [policy.id]})
    assert response.status_code == 303
    event = db.session.scalar(select(Event))
    assert [p.title for p in event.policies] == ["高企认定奖补"]
    assert "高企申报培训" in text(client.get("/events"))
    login_as(people["officer"])
    assert client.get("/events/new").status_code == 403
    assert "高企申报培训" in text(client.get(f"/events/{event.id}"))


def test_the_template_imports_as_it_is_filled(client, login_as, world, people, briefing, db):
    from openpyxl import load_workbook

    login_as(people["manager"])
    response = client.get("/events/attendees-template.xlsx")
    wb = load_workbook(BytesIO(response.data))
    ws = wb.active
    assert [c.value for c in ws[1]] == ["统一社会信用代码", "参会人", "企业名称"]
    ws.append([world.ent_x.uscc, "张总", world.ent_x.name])
    out = BytesIO()
    wb.save(out)
    response = client.post(f"/events/{briefing.id}/attendees/import",
                           data={"file": (BytesIO(out.getvalue()), "filled.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 303  # the example row is skipped, the filled one signed up (not marked present)
    [attendee] = db.session.scalars(select(EventAttendee)).all()
    assert (attendee.enterprise_id, attendee.person, attendee.attended) == (world.ent_x.id, "张总", False)


def test_the_enterprise_page_lists_its_events_and_referrals(client, login_as, world, people, briefing, db):
    from crm.partners import services as partner_services

    services.sign_up(briefing, world.ent_x, actor=people["manager"])
    bank = partner_services.create_partner({"name": "宁夏银行", "kind": "bank", "region_id": world.city.id},
                                           actor=people["manager"])
    need = factories.need(world.ent_x, owner=people["officer"], category="finance")
    partner_services.refer_need(need, bank, consent_by="张总", consent_on=date(2025, 1, 2), consent_mode="phone",
                                actor=people["officer"], today=date(2025, 1, 2))
    db.session.commit()
    login_as(people["officer"])
    page = text(client.get(f"/enterprises/{world.ent_x.id}"))
    assert 'id="outreach"' in page and "2025年科技政策宣讲会" in page and "宁夏银行" in page
    assert 'id="outreach"' not in text(client.get(f"/enterprises/{world.ent_park.id}"))
