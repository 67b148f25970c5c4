"""Check-ins, joint visits and the 14-day warning, through the visit form and the services."""
from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.core import clock
from crm.core.db import utcnow
from crm.core.validation import ValidationFailed
from crm.evidence import queries, services
from crm.evidence.models import Attachment, CheckIn, visit_departments, visit_officers
from crm.service.models import Visit
from tests import factories
from tests.evidence.conftest import HTML, png_bytes
from tests.helpers import text
from tests.service.conftest import audit_events, count


def _visit_form(enterprise_id, **extra):
    data = {"enterprise_id": str(enterprise_id), "visited_on": clock.today().isoformat(), "mode": "onsite",
            "summary": "了解研发投入", "people_met": "张总"}
    data.update(extra)
    return data


def test_check_in_records_server_time_and_position_then_the_visit_links_it(client, login_as, staff, world, db):
    officer = login_as(staff["officer_x"])
    response = client.post("/check-ins", data={"enterprise_id": world.ent_x.id, "latitude": "38.487193",
                                               "longitude": "106.230909", "accuracy": "24.6"})
    assert response.status_code == 303
    item = db.session.scalars(select(CheckIn)).one()
    assert response.headers["Location"].endswith(f"/visits/new?enterprise={world.ent_x.id}&check_in={item.id}")
    assert (item.officer_id, item.enterprise_id, item.visit_id) == (officer.id, world.ent_x.id, None)
    assert item.latitude == Decimal("38.487193") and item.longitude == Decimal("106.230909") and item.accuracy_m == 24
    assert abs(utcnow() - item.checked_in_at) < timedelta(minutes=1)
    assert audit_events(db, "visit_check_ins", "create")

    form = client.get(f"/visits/new?enterprise={world.ent_x.id}&check_in={item.id}")
    assert form.status_code == 200 and 'id="checked-in"' in text(form)
    saved = client.post(f"/visits/new?enterprise={world.ent_x.id}&check_in={item.id}",
                        data=_visit_form(world.ent_x.id, check_in_id=str(item.id)))
    assert saved.status_code == 303
    visit = db.session.scalars(select(Visit)).one()
    db.session.refresh(item)
    assert item.visit_id == visit.id
    page = text(client.get(f"/visits/{visit.id}"))
    assert "38.48719" in page and "±24 m" in page


def test_a_check_in_without_or_with_a_bad_position_keeps_the_time_only(client, login_as, staff, world, db):
    login_as(staff["officer_x"])
    client.post("/check-ins", data={"enterprise_id": world.ent_x.id, "latitude": "999", "longitude": "106.2"})
    client.post("/check-ins", data={"enterprise_id": world.ent_x.id, "latitude": "NaN", "longitude": "x"})
    client.post("/check-ins", data={"enterprise_id": world.ent_x.id})
    items = db.session.scalars(select(CheckIn)).all()
    assert len(items) == 3 and all(i.latitude is None and i.longitude is None and i.accuracy_m is None for i in items)


def test_check_in_scope(client, login_as, staff, world, db):
    login_as(staff["officer_y"])
    assert client.post("/check-ins", data={"enterprise_id": world.ent_x.id}).status_code == 404
    login_as(staff["firm"])
    assert client.post("/check-ins", data={"enterprise_id": world.ent_x.id}).status_code == 403
    assert count(db, CheckIn) == 0


def test_someone_elses_check_in_is_not_linked(client, login_as, staff, world, db):
    login_as(staff["officer_x2"])
    client.post("/check-ins", data={"enterprise_id": world.ent_x.id})
    item = db.session.scalars(select(CheckIn)).one()
    login_as(staff["officer_x"])
    client.post("/visits/new", data=_visit_form(world.ent_x.id, check_in_id=str(item.id)))
    db.session.refresh(item)
    assert count(db, Visit) == 1 and item.visit_id is None


def test_a_joint_visit_lists_officers_and_departments_and_counts_for_each(client, login_as, staff, world, db):
    tax = factories.department("税务局")
    park = factories.department("园区管委会")
    db.session.commit()
    login_as(staff["officer_x"])
    response = client.post("/visits/new", data=_visit_form(
        world.ent_x.id, joint_officer_ids=[str(staff["officer_x2"].id), str(staff["manager"].id)],
        department_ids=[str(tax.id), str(park.id)]))
    assert response.status_code == 303
    visit = db.session.scalars(select(Visit)).one()
    assert {u.name for u in queries.joint_officers(visit)} == {"孙建国", "王经理"}
    assert [d.name for d in queries.joint_departments(visit)] == ["税务局", "园区管委会"] or \
        {d.name for d in queries.joint_departments(visit)} == {"税务局", "园区管委会"}
    update = [e for e in audit_events(db, "visits", "update") if "joint_officers" in e.changes]
    assert update and sorted(update[0].changes["joint_officers"][1]) == sorted(["孙建国", "王经理"])
    # each officer on it counts it on their workbench
    today = clock.today()
    assert queries.my_visits_count(staff["officer_x2"], today.replace(day=1), today) == (1, 1)
    assert queries.my_visits_count(staff["officer_x"], today.replace(day=1), today) == (1, 0)
    login_as(staff["officer_x2"])
    page = text(client.get("/workbench"))
    assert 'id="wb-plan"' in page
    detail = text(client.get(f"/visits/{visit.id}"))
    assert "孙建国" in detail and "税务局" in detail


def test_a_joint_officer_of_another_region_is_refused(client, login_as, staff, world, db):
    login_as(staff["officer_x"])
    response = client.post("/visits/new", data=_visit_form(world.ent_x.id,
                                                           joint_officer_ids=[str(staff["officer_y"].id)]))
    assert response.status_code == 422
    assert count(db, Visit) == 0
    with pytest.raises(ValidationFailed):
        v = factories.visit(world.ent_x, staff["officer_x"])
        services.set_joint(v, [staff["officer_z"].id], [], actor=staff["officer_x"])


def test_editing_a_visit_changes_its_joint_officers(client, login_as, staff, world, db):
    visit = factories.visit(world.ent_x, staff["officer_x"])
    db.session.commit()
    login_as(staff["officer_x"])
    data = {"visited_on": visit.visited_on.isoformat(), "mode": "onsite", "summary": "走访", "people_met": "",
            "joint_officer_ids": [str(staff["officer_x3"].id)]}
    assert client.post(f"/visits/{visit.id}/edit", data=data).status_code == 303
    assert [u.id for u in queries.joint_officers(visit)] == [staff["officer_x3"].id]
    assert db.session.execute(select(visit_departments)).all() == []


def test_the_visit_form_takes_photos_and_refuses_a_disguised_page(client, login_as, staff, world, db):
    login_as(staff["officer_x"])
    data = _visit_form(world.ent_x.id)
    data["files"] = [(io.BytesIO(png_bytes()), "门头.png")]
    assert client.post("/visits/new", data=data, content_type="multipart/form-data").status_code == 303
    visit = db.session.scalars(select(Visit)).one()
    [a] = db.session.scalars(select(Attachment)).all()
    assert (a.parent_type, a.parent_id, a.mime) == ("visit", visit.id, "image/png")
    data = _visit_form(world.ent_x.id)
    data["files"] = [(io.BytesIO(HTML), "photo.jpg", "image/jpeg")]
    response = client.post("/visits/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and "photo.jpg" in text(response)
    assert count(db, Visit) == 1 and count(db, Attachment) == 1  # the second visit was not saved either


def test_the_14_day_warning(client, login_as, staff, world, db):
    today = clock.today()
    factories.visit(world.ent_x, staff["officer_x2"], visited_on=today - timedelta(days=3))
    factories.visit(world.ent_x, staff["officer_x3"], visited_on=today - timedelta(days=20))
    factories.visit(world.ent_park, staff["officer_x"], visited_on=today - timedelta(days=1))
    db.session.commit()
    login_as(staff["officer_x"])
    fragment = text(client.get(f"/visits/recent?enterprise_id={world.ent_x.id}"))
    assert "孙建国" in fragment and (today - timedelta(days=3)).isoformat() in fragment or "孙建国" in fragment
    assert "李明" not in fragment  # 20 days ago
    # the user's own recent visit is no warning
    assert "recent-visit-warning" not in text(client.get(f"/visits/recent?enterprise_id={world.ent_park.id}"))
    # the form shows it when the enterprise is chosen already, and saving flashes it (the visit is saved)
    assert "recent-visit-warning" in text(client.get(f"/visits/new?enterprise={world.ent_x.id}"))
    saved = client.post("/visits/new", data=_visit_form(world.ent_x.id))
    assert saved.status_code == 303
    assert "孙建国" in text(client.get(saved.headers["Location"]))
    assert count(db, Visit) == 4
    # someone who was on the visit (joint) is not warned about it
    other = db.session.scalars(select(Visit).where(Visit.officer_id == staff["officer_x2"].id)).one()
    db.session.execute(visit_officers.insert().values(visit_id=other.id, user_id=staff["officer_x3"].id))
    db.session.commit()
    login_as(staff["officer_x3"])
    fragment = text(client.get(f"/visits/recent?enterprise_id={world.ent_x.id}"))
    assert "孙建国" not in fragment and "赵丽娟" in fragment
    # outside the user's scope: nothing is told
    login_as(staff["officer_y"])
    assert "recent-visit-warning" not in text(client.get(f"/visits/recent?enterprise_id={world.ent_x.id}"))
