"""The audit trail: every registry write through the pages is recorded (old → new); who may read it."""
from datetime import date

import pytest
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from crm.enterprises.models import AnnualFigures, Contact, Enterprise, IntellectualProperty
from crm.extensions import db as _db
from tests import factories
from tests.helpers import text

FIGURES = {"year": "2024", "revenue": "3200", "hightech_revenue": "2300", "rd_expense": "180.5",
           "rd_expense_domestic": "170", "total_cost": "2800", "total_income": "", "total_assets": "4,100",
           "net_assets": "-20", "employees": "85", "tech_staff": "14", "rd_staff": "10"}
IP = {"kind": "software_copyright", "title": "智能装备控制系统V1.0", "number": "2023SR0123456",
      "granted_on": "2023-05-06", "is_valid": "y"}
CONTACT = {"name": "王芳", "title": "总经理", "phone": "13900001111", "email": "wf@example.com", "is_primary": "y"}


@pytest.fixture
def officer(login_as, world):
    """An officer of county X serving ent_x and ent_park, signed in on the test client."""
    return login_as("officer", region=world.county_x, username="li.officer", serves=[world.ent_x, world.ent_park])


def _events(**where) -> list[AuditEvent]:
    """The recorded events matching `where`, oldest first."""
    stmt = select(AuditEvent).filter_by(**where).order_by(AuditEvent.id)
    return list(_db.session.scalars(stmt))


def _only_event(**where) -> AuditEvent:
    events = _events(**where)
    assert len(events) == 1, events
    return events[0]


def _event_count() -> int:
    return _db.session.scalar(select(func.count()).select_from(AuditEvent))


def _assert_by(event, user, *, action, entity, entity_id, enterprise_id):
    assert (event.actor_id, event.actor_label, event.ip) == (user.id, user.username, "127.0.0.1")
    assert (event.action, event.entity_type, event.entity_id, event.enterprise_id) == (
        action, entity, entity_id, enterprise_id)
    assert event.at is not None and event.at.tzinfo is not None


def _profile_of(e: Enterprise, **overrides) -> dict:
    """The profile form of `e` as the edit page posts it, unchanged unless overridden."""
    data = {"name": e.name, "uscc": e.uscc, "region_id": str(e.region_id), "address": e.address or "",
            "industry_code": e.industry_code, "tech_domain": e.tech_domain or "",
            "established_on": e.established_on.isoformat() if e.established_on else "",
            "is_above_scale": "y" if e.is_above_scale else None, "status": e.status}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _figures_of(f: AnnualFigures, **overrides) -> dict:
    data = {name: ("" if getattr(f, name) is None else str(getattr(f, name)))
            for name in ("year", "revenue", "hightech_revenue", "rd_expense", "rd_expense_domestic", "total_cost",
                         "total_income", "total_assets", "net_assets", "employees", "tech_staff", "rd_staff")}
    data.update(overrides)
    return data


# --- enterprises --------------------------------------------------------------------------


def test_registering_an_enterprise_is_recorded(client, officer, world):
    uscc = factories.uscc("640104")
    response = client.post("/enterprises/new", data={
        "name": "银川新注册科技有限公司", "uscc": uscc.lower(), "region_id": str(world.county_x.id),
        "address": "兴庆区解放西街1号", "industry_code": "c3985", "tech_domain": "electronic_information",
        "established_on": "2019-04-01", "status": "active"})
    assert response.status_code == 303
    enterprise = _db.session.scalar(select(Enterprise).where(Enterprise.uscc == uscc))
    event = _only_event(entity_type="enterprises")
    _assert_by(event, officer, action="create", entity="enterprises", entity_id=enterprise.id,
               enterprise_id=enterprise.id)
    assert event.summary == "银川新注册科技有限公司"
    assert event.changes == {
        "name": [None, "银川新注册科技有限公司"], "uscc": [None, uscc], "region_id": [None, world.county_x.id],
        "address": [None, "兴庆区解放西街1号"], "industry_code": [None, "C3985"],
        "tech_domain": [None, "electronic_information"], "established_on": [None, "2019-04-01"],
        "is_above_scale": [None, False], "status": [None, "active"],
    }
    # the officer who registers it serves it from now on, and that is recorded too
    assignment = _only_event(entity_type="assignments")
    _assert_by(assignment, officer, action="create", entity="assignments", entity_id=assignment.entity_id,
               enterprise_id=enterprise.id)
    assert assignment.changes["officer_id"] == [None, officer.id]


def test_editing_an_enterprise_records_old_and_new(client, officer, world):
    e = world.ent_x
    response = client.post(f"/enterprises/{e.id}/edit", data=_profile_of(
        e, name="兴庆智能装备股份有限公司", address="兴庆区新华街8号", is_above_scale="y", region_id=str(world.park_x.id),
        established_on="2016-01-02"))
    assert response.status_code == 303
    event = _only_event(entity_type="enterprises")
    _assert_by(event, officer, action="update", entity="enterprises", entity_id=e.id, enterprise_id=e.id)
    assert event.changes == {
        "name": ["兴庆智能装备有限公司", "兴庆智能装备股份有限公司"], "address": ["", "兴庆区新华街8号"],
        "is_above_scale": [False, True], "region_id": [world.county_x.id, world.park_x.id],
        "established_on": ["2015-05-01", "2016-01-02"],
    }


def test_refused_edit_records_nothing(client, officer, world):
    response = client.post(f"/enterprises/{world.ent_x.id}/edit",
                           data=_profile_of(world.ent_x, name="新名字", industry_code="Z9999"))
    assert response.status_code == 422
    assert _event_count() == 0
    _db.session.refresh(world.ent_x)
    assert world.ent_x.name == "兴庆智能装备有限公司"


def test_archive_and_restore_are_recorded(client, officer, world):
    e = world.ent_x
    assert client.post(f"/enterprises/{e.id}/archive").status_code == 303
    assert client.post(f"/enterprises/{e.id}/archive").status_code == 303  # already archived: nothing new
    _db.session.refresh(e)
    archived_at = e.archived_at
    assert archived_at is not None
    assert client.post(f"/enterprises/{e.id}/restore").status_code == 303
    assert client.post(f"/enterprises/{e.id}/restore").status_code == 303  # not archived: nothing new
    archive, restore = _events(enterprise_id=e.id)
    _assert_by(archive, officer, action="archive", entity="enterprises", entity_id=e.id, enterprise_id=e.id)
    _assert_by(restore, officer, action="restore", entity="enterprises", entity_id=e.id, enterprise_id=e.id)
    assert archive.changes == {"archived_at": [None, archived_at.isoformat()]}
    assert restore.changes == {"archived_at": [archived_at.isoformat(), None]}


# --- annual figures -----------------------------------------------------------------------


def test_entering_a_year_of_figures_is_recorded_with_amounts_as_text(client, officer, world):
    response = client.post(f"/enterprises/{world.ent_x.id}/figures/new", data=FIGURES)
    assert response.status_code == 303
    figures = _db.session.scalar(select(AnnualFigures))
    event = _only_event(entity_type="annual_figures")
    _assert_by(event, officer, action="create", entity="annual_figures", entity_id=figures.id,
               enterprise_id=world.ent_x.id)
    assert event.changes == {
        "year": [None, 2024], "revenue": [None, "3200.00"], "hightech_revenue": [None, "2300.00"],
        "rd_expense": [None, "180.50"], "rd_expense_domestic": [None, "170.00"], "total_cost": [None, "2800.00"],
        "total_assets": [None, "4100.00"], "net_assets": [None, "-20.00"], "employees": [None, 85],
        "tech_staff": [None, 14], "rd_staff": [None, 10], "source": [None, "officer"],
    }


def test_correcting_figures_records_old_and_new(client, officer, world):
    figures = factories.figures(world.ent_x, 2023)
    response = client.post(f"/enterprises/{world.ent_x.id}/figures/{figures.id}/edit",
                           data=_figures_of(figures, revenue="3,500.00", employees="90", total_income="3300.25"))
    assert response.status_code == 303
    event = _only_event(entity_type="annual_figures")
    _assert_by(event, officer, action="update", entity="annual_figures", entity_id=figures.id,
               enterprise_id=world.ent_x.id)
    assert event.changes == {"revenue": ["3200.00", "3500.00"], "employees": [85, 90],
                             "total_income": [None, "3300.25"]}


def test_correcting_figures_typed_without_decimals_records_two_places(client, officer, world):
    """The trail shows an amount the same way whether it was typed "3500" or "3500.00"."""
    figures = factories.figures(world.ent_x, 2023)
    response = client.post(f"/enterprises/{world.ent_x.id}/figures/{figures.id}/edit",
                           data=_figures_of(figures, revenue="3500"))
    assert response.status_code == 303
    assert _only_event(entity_type="annual_figures").changes == {"revenue": ["3200.00", "3500.00"]}


def test_verifying_and_then_correcting_figures_is_recorded(client, officer, world):
    figures = factories.figures(world.ent_x, 2023)
    assert client.post(f"/enterprises/{world.ent_x.id}/figures/{figures.id}/verify").status_code == 303
    response = client.post(f"/enterprises/{world.ent_x.id}/figures/{figures.id}/edit",
                           data=_figures_of(figures, rd_staff="12"))
    assert response.status_code == 303
    verify, update = _events(entity_type="annual_figures")
    _assert_by(verify, officer, action="verify", entity="annual_figures", entity_id=figures.id,
               enterprise_id=world.ent_x.id)
    assert verify.changes == {"verified": [False, True]}
    assert update.action == "update"
    assert update.changes == {"rd_staff": [10, 12], "verified": [True, False]}


def test_refused_figures_record_nothing(client, officer, world):
    response = client.post(f"/enterprises/{world.ent_x.id}/figures/new", data={**FIGURES, "tech_staff": "86"})
    assert response.status_code == 422
    assert _event_count() == 0


# --- intellectual property ----------------------------------------------------------------


def test_ip_item_create_update_delete_are_recorded(client, officer, world):
    base = f"/enterprises/{world.ent_x.id}/ip"
    assert client.post(f"{base}/new", data=IP).status_code == 303
    item = _db.session.scalar(select(IntellectualProperty))
    item_id = item.id
    assert client.post(f"{base}/{item_id}/edit", data={**{k: v for k, v in IP.items() if k != "is_valid"},
                                                         "title": "智能装备控制系统V2.0",
                                                         "used_in_earlier_application": "y"}).status_code == 303
    assert client.post(f"{base}/{item_id}/delete").status_code == 303
    create, update, delete = _events(entity_type="intellectual_property")
    for event, action in ((create, "create"), (update, "update"), (delete, "delete")):
        _assert_by(event, officer, action=action, entity="intellectual_property", entity_id=item_id,
                   enterprise_id=world.ent_x.id)
    assert create.changes == {
        "kind": [None, "software_copyright"], "title": [None, "智能装备控制系统V1.0"], "number": [None, "2023SR0123456"],
        "granted_on": [None, "2023-05-06"], "is_valid": [None, True], "used_in_earlier_application": [None, False],
    }
    assert update.changes == {"title": ["智能装备控制系统V1.0", "智能装备控制系统V2.0"], "is_valid": [True, False],
                              "used_in_earlier_application": [False, True]}
    assert delete.changes == {
        "kind": ["software_copyright", None], "title": ["智能装备控制系统V2.0", None], "number": ["2023SR0123456", None],
        "granted_on": ["2023-05-06", None], "is_valid": [False, None], "used_in_earlier_application": [True, None],
    }


# --- contacts -----------------------------------------------------------------------------


def test_contact_create_update_delete_are_recorded(client, officer, world):
    base = f"/enterprises/{world.ent_x.id}/contacts"
    assert client.post(f"{base}/new", data=CONTACT).status_code == 303
    contact_id = _db.session.scalar(select(Contact.id))
    assert client.post(f"{base}/{contact_id}/edit", data={**CONTACT, "phone": "13900002222"}).status_code == 303
    assert client.post(f"{base}/{contact_id}/delete").status_code == 303
    create, update, delete = _events(entity_type="enterprise_contacts")
    for event, action in ((create, "create"), (update, "update"), (delete, "delete")):
        _assert_by(event, officer, action=action, entity="enterprise_contacts", entity_id=contact_id,
                   enterprise_id=world.ent_x.id)
    assert create.changes == {"name": [None, "王芳"], "title": [None, "总经理"], "phone": [None, "13900001111"],
                              "email": [None, "wf@example.com"], "is_primary": [None, True]}
    assert update.changes == {"phone": ["13900001111", "13900002222"]}
    assert delete.changes == {"name": ["王芳", None], "title": ["总经理", None], "phone": ["13900002222", None],
                              "email": ["wf@example.com", None], "is_primary": [True, None]}


# --- an update that changes nothing records nothing ---------------------------------------


@pytest.mark.parametrize("what", ["enterprise", "figures", "ip", "contact"])
def test_saving_unchanged_records_nothing(client, officer, world, db, what):
    e = world.ent_x
    if what == "enterprise":
        url, data = f"/enterprises/{e.id}/edit", _profile_of(e)
    elif what == "figures":
        f = factories.figures(e, 2023, total_income=None)
        url, data = f"/enterprises/{e.id}/figures/{f.id}/edit", _figures_of(f, revenue="3200")  # 3200 == 3200.00
    elif what == "ip":
        item = factories.ip(e, "invention_patent", title="一种装置", number="ZL202110000001.X",
                            granted_on=date(2022, 3, 1))
        url, data = f"/enterprises/{e.id}/ip/{item.id}/edit", {
            "kind": "invention_patent", "title": "一种装置", "number": "ZL202110000001.X", "granted_on": "2022-03-01",
            "is_valid": "y"}
    else:
        contact = Contact(enterprise_id=e.id, name="张伟", title="", phone="139", email="", is_primary=True)
        db.session.add(contact)
        db.session.flush()
        url, data = f"/enterprises/{e.id}/contacts/{contact.id}/edit", {"name": "张伟", "phone": "139",
                                                                        "is_primary": "y"}
    db.session.commit()
    assert client.post(url, data=data).status_code == 303
    assert _event_count() == 0


# --- reading the trail --------------------------------------------------------------------


def test_admin_reads_an_enterprises_trail_newest_first(client, login_as, officer, world):
    e = world.ent_x
    client.post(f"/enterprises/{e.id}/edit", data=_profile_of(e, name="兴庆甲公司"))
    client.post(f"/enterprises/{e.id}/edit", data=_profile_of(e, name="兴庆乙公司"))
    client.post(f"/enterprises/{world.ent_park.id}/edit", data=_profile_of(world.ent_park, name="园区丙公司"))
    login_as("admin")
    response = client.get(f"/enterprises/{e.id}/audit")
    assert response.status_code == 200
    page = text(response)
    first, second = "兴庆智能装备有限公司 → 兴庆甲公司", "兴庆甲公司 → 兴庆乙公司"
    assert first in page and second in page
    assert page.index(second) < page.index(first)  # newest first
    assert "li.officer" in page and "127.0.0.1" in page
    assert "园区丙公司" not in page  # another enterprise's trail


def test_admin_audit_page_filters_by_entity_and_actor(client, login_as, officer, world):
    e = world.ent_x
    client.post(f"/enterprises/{e.id}/edit", data=_profile_of(e, name="兴庆甲公司"))
    client.post(f"/enterprises/{e.id}/contacts/new", data=CONTACT)
    admin = login_as("admin", username="root")
    client.post(f"/enterprises/{world.ent_z.id}/edit", data=_profile_of(world.ent_z, name="大武口丁公司"))
    assert _event_count() == 3

    def shown(query=""):
        response = client.get(f"/admin/audit{query}")
        assert response.status_code == 200
        changes = " ".join(cell.split("</td>")[0] for cell in text(response).split('class="audit-changes"')[1:])
        return {marker for marker in ("兴庆甲公司", "总经理", "大武口丁公司") if marker in changes}

    assert shown() == {"兴庆甲公司", "总经理", "大武口丁公司"}
    assert shown("?entity=enterprises") == {"兴庆甲公司", "大武口丁公司"}
    assert shown("?entity=enterprise_contacts") == {"总经理"}
    assert shown("?actor=li.officer") == {"兴庆甲公司", "总经理"}
    assert shown(f"?actor={admin.username}") == {"大武口丁公司"}
    assert shown("?entity=enterprises&actor=li.officer") == {"兴庆甲公司"}
    assert shown("?actor=nobody") == set()


def test_admin_audit_page_is_newest_first(client, login_as, officer, world):
    e = world.ent_x
    client.post(f"/enterprises/{e.id}/edit", data=_profile_of(e, name="兴庆甲公司"))
    client.post(f"/enterprises/{e.id}/edit", data=_profile_of(e, name="兴庆乙公司"))
    login_as("admin")
    page = text(client.get("/admin/audit"))
    assert page.index("兴庆甲公司 → 兴庆乙公司") < page.index("兴庆智能装备有限公司 → 兴庆甲公司")


@pytest.mark.parametrize("role", ["officer", "manager", "enterprise"])
def test_only_admins_read_the_trail(client, login_as, world, role):
    login_as(role, **({"enterprise": world.ent_x} if role == "enterprise" else {"region": world.county_x}))
    assert client.get(f"/enterprises/{world.ent_x.id}/audit").status_code == 403
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit?entity=enterprises").status_code == 403


def test_anonymous_is_sent_to_sign_in(client, world):
    for url in (f"/enterprises/{world.ent_x.id}/audit", "/admin/audit"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
