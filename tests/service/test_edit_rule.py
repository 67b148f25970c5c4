"""The edit rule (DESIGN §1): an officer edits the enterprises they serve now and reads the rest of their region."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from crm.core.validation import ValidationFailed
from crm.enterprises.models import AnnualFigures, Enterprise
from crm.enterprises.queries import can_edit_enterprise
from crm.service import queries, services
from tests import factories
from tests.helpers import text

FIGURES = {"year": "2024", "revenue": "3200", "hightech_revenue": "2300", "rd_expense": "180",
           "rd_expense_domestic": "170", "total_cost": "2800", "total_assets": "4100", "net_assets": "2100",
           "employees": "85", "tech_staff": "14", "rd_staff": "10"}


@pytest.fixture
def people(world, db):
    """A manager of the city; officer A serving ent_x; officer B of the same county serving nothing."""
    p = {
        "manager": factories.user("manager", region=world.city),
        "a": factories.user("officer", region=world.county_x, name="赵丽娟", serves=[world.ent_x]),
        "b": factories.user("officer", region=world.county_x, name="孙建国"),
    }
    db.session.commit()
    return p


def _edit_urls(eid: int) -> list[str]:
    return [f"/enterprises/{eid}/edit", f"/enterprises/{eid}/figures/new", f"/enterprises/{eid}/ip/new",
            f"/enterprises/{eid}/contacts/new", f"/enterprises/{eid}/certifications/new",
            f"/enterprises/{eid}/readiness/inputs"]


def _edits(client, eid: int) -> set[int]:
    """The statuses of the enterprise's edit pages."""
    return {client.get(url).status_code for url in _edit_urls(eid)}


def _events(db) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def test_the_assigned_officer_edits(client, login_as, world, people, db):
    login_as(people["a"])
    eid = world.ent_x.id
    assert _edits(client, eid) == {200}
    assert client.post(f"/enterprises/{eid}/figures/new", data=FIGURES).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(AnnualFigures)) == 1
    page = text(client.get(f"/enterprises/{eid}"))
    assert f"/enterprises/{eid}/edit" in page and 'name="whatif"' in page


def test_an_unassigned_officer_of_the_region_reads_but_may_not_edit(client, login_as, world, people, db):
    login_as(people["b"])
    eid = world.ent_x.id
    response = client.get(f"/enterprises/{eid}")
    assert response.status_code == 200
    page = text(response)
    assert "兴庆智能装备有限公司" in page and "赵丽娟" in page  # reads it, and sees who serves it
    for url in _edit_urls(eid):
        assert f'href="{url}"' not in page, url
    assert 'name="whatif"' not in page and f"/enterprises/{eid}/archive" not in page
    assert _edits(client, eid) == {403}
    before = _events(db)
    assert client.post(f"/enterprises/{eid}/figures/new", data=FIGURES).status_code == 403
    assert client.post(f"/enterprises/{eid}/archive").status_code == 403
    what_if = client.get(f"/enterprises/{eid}/readiness", query_string={"whatif": "1", "rd_expense": "150"})
    assert what_if.status_code == 403
    assert _events(db) == before
    assert db.session.scalar(select(func.count()).select_from(AnnualFigures)) == 0


def test_an_officer_of_another_region_gets_404(client, login_as, world, people):
    login_as("officer", region=world.county_y, serves=[world.ent_y])
    assert _edits(client, world.ent_x.id) == {404}
    assert client.get(f"/enterprises/{world.ent_x.id}").status_code == 404


def test_reassignment_moves_the_right_to_edit(client, login_as, world, people, db):
    eid = world.ent_x.id
    login_as(people["manager"])
    assert client.post(f"/enterprises/{eid}/assignment", data={"officer_id": people["b"].id}).status_code == 303
    login_as(people["a"])
    assert _edits(client, eid) == {403}
    assert f"/enterprises/{eid}/edit" not in text(client.get(f"/enterprises/{eid}"))
    login_as(people["b"])
    assert _edits(client, eid) == {200}


def test_an_ended_assignment_gives_no_edit(client, login_as, world, people, db):
    eid = world.ent_x.id
    login_as(people["manager"])
    assert client.post(f"/enterprises/{eid}/assignment/end").status_code == 303
    assert queries.current_assignment(world.ent_x) is None
    login_as(people["a"])
    assert client.get(f"/enterprises/{eid}").status_code == 200
    assert _edits(client, eid) == {403}


def test_an_earlier_assignment_of_the_same_officer_gives_no_edit(world, db):
    officer = factories.user("officer", region=world.county_x)
    factories.assignment(world.ent_x, officer, starts_on=date(2023, 1, 1), ends_on=date(2024, 6, 30))
    db.session.commit()
    assert not can_edit_enterprise(officer, world.ent_x)


def test_an_assigned_officer_moved_to_another_region_may_not_edit(world, people, db):
    """The assignment alone is not enough: the enterprise must lie in the officer's region too."""
    people["a"].region_id = world.county_y.id
    db.session.commit()
    assert not can_edit_enterprise(people["a"], world.ent_x)


def test_managers_still_may_not_edit(client, login_as, world, people, db):
    assert not can_edit_enterprise(people["manager"], world.ent_x)
    login_as(people["manager"])
    assert _edits(client, world.ent_x.id) == {403}


def test_admins_edit_every_enterprise(client, login_as, world, people):
    login_as("admin")
    assert _edits(client, world.ent_z.id) == {200}


def test_an_officer_who_registers_an_enterprise_serves_it_and_edits_it(client, login_as, world, people, db):
    login_as(people["b"])
    uscc = factories.uscc("640104")
    response = client.post("/enterprises/new", data={
        "name": "兴庆新注册科技有限公司", "uscc": uscc, "region_id": str(world.park_x.id),
        "industry_code": "C3985", "tech_domain": "electronic_information", "established_on": "2019-04-01",
        "status": "active"})
    assert response.status_code == 303
    enterprise = db.session.scalar(select(Enterprise).where(Enterprise.uscc == uscc))
    assignment = queries.current_assignment(enterprise)
    assert assignment.officer_id == people["b"].id and assignment.assigned_by_id == people["b"].id
    assert _edits(client, enterprise.id) == {200}
    assert f"/enterprises/{enterprise.id}/edit" in text(client.get(f"/enterprises/{enterprise.id}"))


def test_an_admin_who_registers_an_enterprise_serves_nothing(client, login_as, world, db):
    login_as("admin")
    uscc = factories.uscc("640104")
    response = client.post("/enterprises/new", data={
        "name": "兴庆新注册科技有限公司", "uscc": uscc, "region_id": str(world.county_x.id),
        "industry_code": "C3985", "tech_domain": "electronic_information", "established_on": "2019-04-01",
        "status": "active"})
    assert response.status_code == 303
    assert queries.current_assignment(db.session.scalar(select(Enterprise).where(Enterprise.uscc == uscc))) is None


def test_assign_creator_refuses_an_enterprise_outside_the_officer_region(world, people, db):
    with pytest.raises(ValidationFailed):
        services.assign_creator(world.ent_y, people["b"], actor=people["b"])
    assert services.assign_creator(world.ent_y, people["manager"], actor=people["manager"]) is None
