"""Assignments (包保关系): assign, reassign with history, one current per enterprise, scoping, bulk, filters, load."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from crm.core import clock
from crm.core.audit import AuditEvent
from crm.core.validation import ValidationFailed
from crm.service import queries, services
from crm.service.models import Assignment
from tests import factories


@pytest.fixture
def people(world, db):
    """A manager of the city (reading English), two officers of county X, one of county Y, one of the other city."""
    p = {
        "manager": factories.user("manager", region=world.city, name="王经理", locale="en"),
        "officer_x": factories.user("officer", region=world.county_x, name="赵丽娟", phone="13895010404"),
        "officer_x2": factories.user("officer", region=world.county_x, name="孙建国"),
        "officer_y": factories.user("officer", region=world.county_y, name="马文斌"),
        "officer_z": factories.user("officer", region=world.county_z, name="杨志刚"),
    }
    db.session.commit()
    return p


def _current(db, enterprise):
    return db.session.scalars(select(Assignment).where(Assignment.enterprise_id == enterprise.id,
                                                       Assignment.ends_on.is_(None))).all()


def _followed(client, response) -> str:
    """The page a 303 leads to (with its flashed messages)."""
    assert response.status_code == 303
    return client.get(response.headers["Location"]).get_data(as_text=True)


def _events(db, entity_type="assignments"):
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.entity_type == entity_type))


def test_assign_makes_the_officer_current_and_is_audited(world, people, db):
    a = services.assign_enterprise(world.ent_x, people["officer_x"], actor=people["manager"])
    db.session.commit()
    assert a.officer_id == people["officer_x"].id and a.starts_on == clock.today() and a.ends_on is None
    assert a.assigned_by_id == people["manager"].id
    assert queries.current_assignment(world.ent_x).id == a.id
    assert _events(db) == 1


def test_an_officer_of_a_parent_region_may_serve_a_park(world, people, db):
    assert services.assign_enterprise(world.ent_park, people["officer_x"], actor=people["manager"]) is not None


def test_reassign_ends_the_current_one_and_keeps_history(client, login_as, world, people, db):
    login_as(people["manager"])
    eid = world.ent_x.id
    r = client.post(f"/enterprises/{eid}/assignment", data={"officer_id": people["officer_x"].id})
    assert r.status_code == 303
    r = client.post(f"/enterprises/{eid}/assignment", data={"officer_id": people["officer_x2"].id})
    assert r.status_code == 303
    history = queries.assignment_history(world.ent_x)
    assert [a.officer_id for a in history] == [people["officer_x2"].id, people["officer_x"].id]
    assert history[0].ends_on is None and history[1].ends_on == clock.today()
    page = client.get(f"/enterprises/{eid}").get_data(as_text=True)
    assert "孙建国" in page and "赵丽娟" in page  # current and former, in the history table


def test_at_most_one_current_assignment_per_enterprise(world, people, db):
    actor = people["manager"]
    for officer in ("officer_x", "officer_x2", "officer_x", "officer_x"):
        services.assign_enterprise(world.ent_x, people[officer], actor=actor)
    db.session.commit()
    assert len(_current(db, world.ent_x)) == 1
    assert _current(db, world.ent_x)[0].officer_id == people["officer_x"].id
    # assigning the officer who serves already changes nothing
    assert services.assign_enterprise(world.ent_x, people["officer_x"], actor=actor) is None
    assert db.session.scalar(select(func.count()).select_from(Assignment)) == 3


def test_end_assignment_keeps_it_in_the_history(client, login_as, world, people, db):
    services.assign_enterprise(world.ent_x, people["officer_x"], actor=people["manager"])
    db.session.commit()
    login_as(people["manager"])
    assert client.post(f"/enterprises/{world.ent_x.id}/assignment/end").status_code == 303
    assert _current(db, world.ent_x) == []
    [a] = queries.assignment_history(world.ent_x)
    assert a.ends_on == clock.today()
    assert services.end_assignment(world.ent_x, actor=people["manager"]) is False


def test_officer_outside_the_enterprise_region_is_refused(client, login_as, world, people, db):
    with pytest.raises(ValidationFailed):
        services.assign_enterprise(world.ent_x, people["officer_y"], actor=people["manager"])
    db.session.rollback()
    login_as(people["manager"])
    r = client.post(f"/enterprises/{world.ent_x.id}/assignment", data={"officer_id": people["officer_y"].id})
    assert "outside the region of the chosen officer" in _followed(client, r)
    assert _current(db, world.ent_x) == [] and _events(db) == 0


def test_inactive_or_non_officer_users_are_refused(world, people, db):
    people["officer_x2"].active = False
    db.session.commit()
    for user in (people["officer_x2"], people["manager"]):
        with pytest.raises(ValidationFailed):
            services.assign_enterprise(world.ent_x, user, actor=people["manager"])


def test_manager_of_another_city_gets_404(client, login_as, world, people, db):
    login_as("manager", region=world.other_city)
    r = client.post(f"/enterprises/{world.ent_x.id}/assignment", data={"officer_id": people["officer_x"].id})
    assert r.status_code == 404
    assert _current(db, world.ent_x) == []
    # and the service refuses it too, whoever calls it
    other = factories.user("manager", region=world.other_city)
    with pytest.raises(ValidationFailed):
        services.assign_enterprise(world.ent_x, people["officer_x"], actor=other)


def test_officer_cannot_assign(client, login_as, world, people, db):
    login_as(people["officer_x"])
    eid = world.ent_x.id
    assert client.post(f"/enterprises/{eid}/assignment", data={"officer_id": people["officer_x"].id}).status_code == 403
    assert client.post(f"/enterprises/{eid}/assignment/end").status_code == 403
    assert client.post("/assignments/bulk", data={"officer_id": people["officer_x"].id}).status_code == 403
    assert client.get("/assignments").status_code == 403
    assert _current(db, world.ent_x) == []
    page = client.get(f"/enterprises/{eid}").get_data(as_text=True)
    assert "/assignment\"" not in page  # no assign form for an officer


def test_enterprise_page_shows_the_current_officer(client, login_as, world, people, db):
    services.assign_enterprise(world.ent_x, people["officer_x"], actor=people["manager"])
    db.session.commit()
    login_as("officer", region=world.county_x)
    page = client.get(f"/enterprises/{world.ent_x.id}").get_data(as_text=True)
    assert "赵丽娟" in page and "13895010404" in page
    login_as(people["manager"])
    page = client.get(f"/enterprises/{world.ent_x.id}").get_data(as_text=True)
    assert 'name="officer_id"' in page and "孙建国" in page and "马文斌" not in page  # officers of the region only


def test_bulk_assign_of_a_filtered_list(client, login_as, world, people, db):
    login_as(people["manager"])
    officer = people["officer_x"]
    r = client.post("/assignments/bulk", data={"region": world.county_x.id, "officer_id": officer.id})
    assert r.status_code == 303
    assert f"region={world.county_x.id}" in r.headers["Location"]
    assigned = set(db.session.scalars(select(Assignment.enterprise_id).where(Assignment.officer_id == officer.id)))
    assert assigned == {world.ent_x.id, world.ent_park.id}
    # again: nothing new
    client.post("/assignments/bulk", data={"region": world.county_x.id, "officer_id": officer.id})
    assert db.session.scalar(select(func.count()).select_from(Assignment)) == 2


def test_bulk_assign_is_all_or_nothing(client, login_as, world, people, db):
    login_as(people["manager"])
    r = client.post("/assignments/bulk", data={"region": world.city.id, "officer_id": people["officer_x"].id})
    assert "outside the chosen officer" in _followed(client, r)
    assert db.session.scalar(select(func.count()).select_from(Assignment)) == 0


def test_bulk_assign_is_capped(client, login_as, world, people, db, monkeypatch):
    monkeypatch.setattr(services, "BULK_LIMIT", 1)
    login_as(people["manager"])
    r = client.post("/assignments/bulk", data={"region": world.county_x.id, "officer_id": people["officer_x"].id})
    assert "2 enterprises match; at most 1 can be assigned at once" in _followed(client, r)
    assert db.session.scalar(select(func.count()).select_from(Assignment)) == 0
    with pytest.raises(ValidationFailed):
        services.assign_many([world.ent_x, world.ent_park], people["officer_x"], actor=people["manager"])


def test_registry_bulk_form_carries_the_filters(client, login_as, world, people, db):
    login_as(people["manager"])
    page = client.get(f"/enterprises?region={world.county_x.id}&q=%E5%85%B4%E5%BA%86").get_data(as_text=True)
    form = page[page.index('id="bulk-assign"'):]
    assert f'name="region" value="{world.county_x.id}"' in form and 'name="q" value="兴庆"' in form
    assert "csrf_token" in form
    login_as(people["officer_x"])
    assert 'id="bulk-assign"' not in client.get("/enterprises").get_data(as_text=True)


def test_registry_officer_filter(client, login_as, world, people, db):
    services.assign_enterprise(world.ent_x, people["officer_x"], actor=people["manager"])
    services.assign_enterprise(world.ent_y, people["officer_y"], actor=people["manager"])
    db.session.commit()
    login_as(people["manager"])
    page = client.get(f"/enterprises?officer={people['officer_x'].id}").get_data(as_text=True)
    assert "兴庆智能装备有限公司" in page and "西夏生物科技有限公司" not in page and "园区新材料有限公司" not in page
    page = client.get("/enterprises?officer=none").get_data(as_text=True)
    assert "园区新材料有限公司" in page
    assert "兴庆智能装备有限公司" not in page and "西夏生物科技有限公司" not in page
    assert "大武口光伏科技有限公司" not in page  # outside the manager's scope
    # the filter's select offers the officers of the user's scope only
    assert "赵丽娟" in page and "杨志刚" not in page
    # garbage is ignored
    assert client.get("/enterprises?officer=x'--").status_code == 200


def test_candidate_pool_officer_filter(client, login_as, world, people, db):
    from crm.ladder.queries import candidate_pool

    services.assign_enterprise(world.ent_x, people["officer_x"], actor=people["manager"])
    db.session.commit()
    manager = people["manager"]
    names = {c.enterprise.name for c in candidate_pool(manager, "tech_sme", officer=str(people["officer_x"].id))}
    assert names == {"兴庆智能装备有限公司"}
    names = {c.enterprise.name for c in candidate_pool(manager, "tech_sme", officer="none")}
    assert names == {"园区新材料有限公司", "西夏生物科技有限公司"}
    login_as(manager)
    page = client.get("/candidates?tier=tech_sme&officer=none").get_data(as_text=True)
    assert "西夏生物科技有限公司" in page and "兴庆智能装备有限公司" not in page
    assert 'name="officer" value="none"' in page  # the sheets batch form keeps the filter
    r = client.get(f"/candidates/export.xlsx?tier=tech_sme&officer={people['officer_x'].id}")
    assert r.status_code == 200


def test_load_page_counts(client, login_as, world, people, db):
    actor = people["manager"]
    services.assign_many([world.ent_x, world.ent_park], people["officer_x"], actor=actor)
    services.assign_enterprise(world.ent_y, people["officer_y"], actor=actor)
    services.assign_enterprise(world.ent_z, people["officer_z"], actor="test")
    db.session.commit()
    login_as(actor)
    page = client.get("/assignments").get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-officer="(\d+)">.*?class="load-count"[^>]*>(\d+)</a>', page, re.S))
    assert rows == {str(people["officer_x"].id): "2", str(people["officer_x2"].id): "0",
                    str(people["officer_y"].id): "1"}  # officer_z: another city
    assert f"/enterprises?officer={people['officer_x'].id}" in page
    assert "/enterprises?officer=none" in page
    login_as("admin")
    page = client.get("/assignments").get_data(as_text=True)
    assert len(re.findall(r'<tr data-officer=', page)) == 4
