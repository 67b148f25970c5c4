"""Needs (需求): every status transition, closing rules, owners, due dates, the optimistic version, who works them."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm.auth.models import User
from crm.core import clock
from crm.core.validation import ValidationFailed
from crm.service import queries, services
from crm.service.models import NEED_STATUS_LABELS, Need
from tests import factories
from tests.service.conftest import audit_events

OPEN, IN_PROGRESS, RESOLVED, REFERRED, CANNOT = "open", "in_progress", "resolved", "referred", "cannot_resolve"
STATUSES = [OPEN, IN_PROGRESS, RESOLVED, REFERRED, CANNOT]
CLOSED = {RESOLVED, REFERRED, CANNOT}
# Written out here (not read from NEED_TRANSITIONS) so a change of the table has to change this test too.
ALLOWED = {
    (OPEN, IN_PROGRESS), (OPEN, RESOLVED), (OPEN, REFERRED), (OPEN, CANNOT),
    (IN_PROGRESS, RESOLVED), (IN_PROGRESS, REFERRED), (IN_PROGRESS, CANNOT),
    (REFERRED, IN_PROGRESS), (REFERRED, RESOLVED), (REFERRED, CANNOT),
    (RESOLVED, IN_PROGRESS),
    (CANNOT, IN_PROGRESS),
}


def _need_in(world, status, owner, department=None, **kw):
    """A committed need of ent_x in `status` (closed ones closed yesterday, with a resolution and a score)."""
    closed = status in CLOSED
    return factories.need(
        world.ent_x, status=status, owner_id=owner.id, raised_on=clock.today() - timedelta(days=10),
        resolution="早先的办理结果" if closed else "", closed_on=clock.today() - timedelta(days=1) if closed else None,
        satisfaction=4 if closed else None, department_id=department.id if status == REFERRED else None, **kw)


def _reloaded(db, need) -> Need:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Need, need.id)


@pytest.mark.parametrize("source, target", [(s, t) for s in STATUSES for t in STATUSES],
                         ids=[f"{s}->{t}" for s in STATUSES for t in STATUSES])
def test_every_status_pair(world, staff, db, source, target):
    officer = staff["officer_x"]
    dept = factories.department("市发展改革委")
    need = _need_in(world, source, officer, dept)
    db.session.commit()
    before = (need.status, need.closed_on, need.satisfaction, need.resolution, need.department_id)

    if (source, target) in ALLOWED:
        changes = services.change_need_status(need, target, actor=officer, resolution=" 已对接 ",
                                              department_id=dept.id, satisfaction=5)
        db.session.commit()
        need = _reloaded(db, need)
        assert need.status == target and changes["status"] == [source, target]
        assert need.version == 2 and need.updated_by_id == officer.id
        if target in CLOSED:
            assert (need.closed_on, need.resolution, need.satisfaction) == (clock.today(), "已对接", 5)
            if target == REFERRED:
                assert need.department_id == dept.id
        else:  # taken up or reopened: the closure no longer holds
            assert need.closed_on is None and need.satisfaction is None
        [ev] = audit_events(db, "needs", "status", need.id)
        assert ev.actor_id == officer.id and ev.changes["status"] == [source, target]
    else:
        with pytest.raises(ValidationFailed) as e:
            services.change_need_status(need, target, actor=officer, resolution="已对接", department_id=dept.id,
                                        satisfaction=5)
        assert set(e.value.errors) == {"status"}
        message = str(e.value.errors["status"][0])
        assert str(NEED_STATUS_LABELS[source]) in message and str(NEED_STATUS_LABELS[target]) in message
        need = _reloaded(db, need)
        assert (need.status, need.closed_on, need.satisfaction, need.resolution, need.department_id) == before
        assert need.version == 1
        assert audit_events(db, "needs", "status") == []


def test_the_transition_table_is_the_one_tested():
    from crm.service.models import NEED_TRANSITIONS

    assert {(s, t) for s, targets in NEED_TRANSITIONS.items() for t in targets} == ALLOWED


@pytest.mark.parametrize("target", sorted(CLOSED))
@pytest.mark.parametrize("resolution", ["", "   ", None])
def test_closing_needs_a_resolution(world, staff, db, target, resolution):
    dept = factories.department()
    need = _need_in(world, IN_PROGRESS, staff["officer_x"])
    db.session.commit()
    with pytest.raises(ValidationFailed) as e:
        services.change_need_status(need, target, actor=staff["officer_x"], resolution=resolution,
                                    department_id=dept.id)
    assert set(e.value.errors) == {"resolution"}
    need = _reloaded(db, need)
    assert need.status == IN_PROGRESS and need.closed_on is None and need.version == 1


def test_referring_needs_an_active_department(world, staff, db):
    active, inactive = factories.department("市人社局"), factories.department("已撤销的办公室", active=False)
    need = _need_in(world, IN_PROGRESS, staff["officer_x"])
    db.session.commit()
    for department_id in (None, "", "abc", inactive.id, inactive.id + active.id + 100):
        with pytest.raises(ValidationFailed) as e:
            services.change_need_status(need, REFERRED, actor=staff["officer_x"], resolution="转人社局",
                                        department_id=department_id)
        assert set(e.value.errors) == {"department_id"}, department_id
        need = _reloaded(db, need)
        assert need.status == IN_PROGRESS and need.department_id is None
    services.change_need_status(need, REFERRED, actor=staff["officer_x"], resolution="转人社局",
                                department_id=str(active.id))
    db.session.commit()
    need = _reloaded(db, need)
    assert need.status == REFERRED and need.department.name == "市人社局"
    assert queries.departments() == [active]


@pytest.mark.parametrize("score, stored", [(1, 1), (5, 5), ("3", 3), (None, None), ("", None)])
def test_satisfaction_within_one_to_five_is_stored(world, staff, db, score, stored):
    need = _need_in(world, IN_PROGRESS, staff["officer_x"])
    db.session.commit()
    services.change_need_status(need, RESOLVED, actor=staff["officer_x"], resolution="已办", satisfaction=score)
    db.session.commit()
    assert _reloaded(db, need).satisfaction == stored


@pytest.mark.parametrize("score", [0, 6, -1, "9", "abc", "4.5"])
def test_satisfaction_outside_one_to_five_is_refused(world, staff, db, score):
    need = _need_in(world, IN_PROGRESS, staff["officer_x"])
    db.session.commit()
    with pytest.raises(ValidationFailed) as e:
        services.change_need_status(need, RESOLVED, actor=staff["officer_x"], resolution="已办", satisfaction=score)
    assert set(e.value.errors) == {"satisfaction"}
    need = _reloaded(db, need)
    assert need.status == IN_PROGRESS and need.satisfaction is None


@pytest.mark.parametrize("closed_as", [RESOLVED, CANNOT, REFERRED])
def test_reopening_clears_the_closure_but_keeps_the_resolution_text(world, staff, db, closed_as):
    need = _need_in(world, closed_as, staff["officer_x"], factories.department())
    db.session.commit()
    assert need.closed_on is not None and need.satisfaction == 4
    changes = services.change_need_status(need, IN_PROGRESS, actor=staff["officer_x"])
    db.session.commit()
    need = _reloaded(db, need)
    assert need.status == IN_PROGRESS and need.closed_on is None and need.satisfaction is None
    assert need.resolution == "早先的办理结果" and need.is_open
    assert changes["satisfaction"] == [4, None] and changes["closed_on"][1] is None


# --- raising: owner and due date ----------------------------------------------------------------

def test_default_owner_is_the_enterprises_current_officer(world, staff, db):
    services.assign_enterprise(world.ent_x, staff["officer_x2"], actor=staff["manager"])
    need = services.raise_need(world.ent_x, {"category": "talent", "title": "引进博士"}, actor=staff["officer_x"])
    db.session.commit()
    assert need.owner_id == staff["officer_x2"].id
    assert need.raised_on == clock.today() and need.due_on == clock.today() + timedelta(days=30)
    assert need.created_by_id == staff["officer_x"].id
    [ev] = audit_events(db, "needs", "create", need.id)
    assert ev.changes["owner_id"] == [None, staff["officer_x2"].id]


def test_default_owner_without_an_officer_is_whoever_records_it(world, staff, db):
    need = services.raise_need(world.ent_x, {"category": "ip", "title": "专利布局"}, actor=staff["officer_x"])
    assert need.owner_id == staff["officer_x"].id
    by_manager = services.raise_need(world.ent_x, {"category": "ip", "title": "专利布局"}, actor=staff["manager"])
    assert by_manager.owner_id == staff["manager"].id
    by_admin = services.raise_need(world.ent_x, {"category": "ip", "title": "专利布局"}, actor=staff["admin"])
    assert by_admin.owner_id is None  # an admin of no region cannot own it; it waits for an owner


def test_an_inactive_assigned_officer_is_not_the_default_owner(world, staff, db):
    services.assign_enterprise(world.ent_x, staff["officer_x2"], actor=staff["manager"])
    staff["officer_x2"].active = False
    db.session.commit()
    need = services.raise_need(world.ent_x, {"category": "ip", "title": "专利布局"}, actor=staff["officer_x"])
    assert need.owner_id == staff["officer_x"].id


@pytest.mark.parametrize("owner", ["manager", "officer_x2"])
def test_an_owner_of_the_region_may_be_chosen(world, staff, db, owner):
    need = services.raise_need(world.ent_park, {"category": "ip", "title": "专利", "owner_id": str(staff[owner].id)},
                               actor=staff["officer_x"])
    assert need.owner_id == staff[owner].id


@pytest.mark.parametrize("owner", ["officer_y", "officer_z", "manager_other", "admin", "firm", "inactive", "ghost"])
def test_an_owner_outside_the_region_is_refused(world, staff, db, owner):
    staff["inactive"] = factories.user("officer", region=world.county_x, active=False)
    owner_id = 999999 if owner == "ghost" else staff[owner].id
    with pytest.raises(ValidationFailed) as e:
        services.raise_need(world.ent_x, {"category": "ip", "title": "专利", "owner_id": owner_id},
                            actor=staff["officer_x"])
    assert set(e.value.errors) == {"owner_id"}
    assert db.session.query(Need).count() == 0
    need = _need_in(world, OPEN, staff["officer_x"])
    db.session.commit()
    with pytest.raises(ValidationFailed) as e:
        services.update_need(need, {"category": "ip", "title": "专利", "due_on": need.due_on, "owner_id": owner_id},
                             actor=staff["officer_x"])
    assert set(e.value.errors) == {"owner_id"}
    assert _reloaded(db, need).owner_id == staff["officer_x"].id


def test_raising_for_an_enterprise_outside_the_region_is_refused(world, staff, db):
    with pytest.raises(ValidationFailed) as e:
        services.raise_need(world.ent_y, {"category": "ip", "title": "专利"}, actor=staff["officer_x"])
    assert set(e.value.errors) == {""}
    assert db.session.query(Need).count() == 0


def test_a_due_date_before_the_raised_date_is_refused(world, staff, db):
    raised = clock.today() - timedelta(days=3)
    with pytest.raises(ValidationFailed) as e:
        services.raise_need(world.ent_x, {"category": "ip", "title": "专利", "raised_on": raised,
                                          "due_on": raised - timedelta(days=1)}, actor=staff["officer_x"])
    assert set(e.value.errors) == {"due_on"}
    need = services.raise_need(world.ent_x, {"category": "ip", "title": "专利", "raised_on": raised, "due_on": raised},
                               actor=staff["officer_x"])
    db.session.commit()
    assert need.due_on == raised
    with pytest.raises(ValidationFailed) as e:
        services.update_need(need, {"category": "ip", "title": "专利", "due_on": raised - timedelta(days=1)},
                             actor=staff["officer_x"])
    assert set(e.value.errors) == {"due_on"}
    assert _reloaded(db, need).due_on == raised


def test_a_need_cannot_be_raised_in_the_future(world, staff, db):
    with pytest.raises(ValidationFailed) as e:
        services.raise_need(world.ent_x, {"category": "ip", "title": "专利",
                                          "raised_on": clock.today() + timedelta(days=1)}, actor=staff["officer_x"])
    assert set(e.value.errors) == {"raised_on"}


def test_update_need_changes_audited_and_bumps_the_version(world, staff, db):
    need = _need_in(world, OPEN, staff["officer_x"])
    db.session.commit()
    due = need.due_on + timedelta(days=5)
    changes = services.update_need(need, {"category": "talent", "title": " 招聘 ", "description": "", "due_on": due,
                                          "owner_id": staff["officer_x2"].id}, actor=staff["officer_x"], version="1")
    db.session.commit()
    need = _reloaded(db, need)
    assert changes["title"][1] == "招聘" and changes["owner_id"] == [staff["officer_x"].id, staff["officer_x2"].id]
    assert (need.category, need.due_on, need.owner_id, need.version) == ("talent", due, staff["officer_x2"].id, 2)
    [ev] = audit_events(db, "needs", "update", need.id)
    assert ev.changes == changes


# --- the optimistic version -----------------------------------------------------------------------

def _stamp(need) -> str:
    """When the need was last changed, as the refusal shows it: the bureau's time zone, to the minute."""
    return need.updated_at.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M")


def test_a_save_based_on_an_older_version_is_refused_naming_who_changed_it_and_when(world, staff, db):
    need = _need_in(world, OPEN, staff["officer_x"])
    db.session.commit()
    services.change_need_status(need, IN_PROGRESS, actor=staff["manager"], version=1)
    db.session.commit()
    need = _reloaded(db, need)
    assert need.version == 2
    for call in (
        lambda n: services.change_need_status(n, RESOLVED, actor=staff["officer_x"], version=1, resolution="已办"),
        lambda n: services.update_need(n, {"category": "ip", "title": "新标题", "due_on": n.due_on},
                                       actor=staff["officer_x"], version="1"),
    ):
        with pytest.raises(ValidationFailed) as e:
            call(need)
        message = str(e.value.errors[""][0])
        assert "王经理" in message and _stamp(need) in message
        need = _reloaded(db, need)
        assert need.status == IN_PROGRESS and need.title != "新标题" and need.version == 2
    # the current version goes through
    services.change_need_status(need, RESOLVED, actor=staff["officer_x"], version="2", resolution="已办")
    db.session.commit()
    assert _reloaded(db, need).status == RESOLVED


@pytest.mark.parametrize("second", ["status", "edit"])
def test_a_real_race_the_second_save_is_refused(app, world, staff, db, second):
    """Two people open the same need (two sessions, as two requests); the one who saves second is refused."""
    need = _need_in(world, OPEN, staff["officer_x"])
    db.session.commit()
    need_id, mine = need.id, db.session.get(Need, need.id)
    assert (mine.status, mine.version, mine.title) == (OPEN, 1, need.title)  # loaded in this session

    with app.app_context():  # the other request: its own session
        from crm.extensions import db as other_db

        theirs = other_db.session.get(Need, need_id)
        assert theirs is not mine
        manager = other_db.session.get(User, staff["manager"].id)
        services.change_need_status(theirs, IN_PROGRESS, actor=manager)
        other_db.session.commit()

    with pytest.raises(ValidationFailed) as e:
        if second == "status":  # still "open" in this session: open → resolved looks allowed here
            services.change_need_status(mine, RESOLVED, actor=staff["officer_x"], resolution="已办")
        else:
            services.update_need(mine, {"category": "ip", "title": "我改的标题", "due_on": mine.due_on},
                                 actor=staff["officer_x"])
    message = str(e.value.errors[""][0])
    assert "王经理" in message
    need = _reloaded(db, mine)
    assert _stamp(need) in message
    assert (need.status, need.version, need.updated_by_id) == (IN_PROGRESS, 2, staff["manager"].id)
    assert need.title != "我改的标题" and need.resolution == ""
    assert [ev.actor_id for ev in audit_events(db, "needs", entity_id=need_id)] == [staff["manager"].id]


# --- who may work a need ------------------------------------------------------------------------

@pytest.mark.parametrize("who, may", [
    ("owner", True), ("serving", True), ("manager", True), ("admin", True),
    ("officer_x", False),  # same county, neither owner nor serving
    ("officer_y", False), ("officer_z", False), ("manager_other", False), ("firm", False),
])
def test_who_may_work_a_need(world, staff, db, who, may):
    owner, serving = staff["officer_x2"], staff["officer_x3"]
    services.assign_enterprise(world.ent_x, serving, actor=staff["manager"])
    need = _need_in(world, OPEN, owner)
    db.session.commit()
    user = {"owner": owner, "serving": serving}.get(who) or staff[who]
    assert queries.can_work_need(user, need) is may
    if may:
        services.change_need_status(need, IN_PROGRESS, actor=user)
        db.session.commit()
        assert _reloaded(db, need).status == IN_PROGRESS
    else:
        with pytest.raises(ValidationFailed) as e:
            services.change_need_status(need, IN_PROGRESS, actor=user)
        assert set(e.value.errors) == {""}
        with pytest.raises(ValidationFailed):
            services.update_need(need, {"category": "ip", "title": "改", "due_on": need.due_on}, actor=user)
        need = _reloaded(db, need)
        assert need.status == OPEN and need.title != "改" and need.version == 1


def test_a_former_officer_no_longer_works_the_need(world, staff, db):
    services.assign_enterprise(world.ent_x, staff["officer_x3"], actor=staff["manager"])
    need = _need_in(world, OPEN, staff["officer_x2"])
    db.session.commit()
    assert queries.can_work_need(staff["officer_x3"], need)
    services.assign_enterprise(world.ent_x, staff["officer_x"], actor=staff["manager"])
    db.session.commit()
    assert not queries.can_work_need(staff["officer_x3"], need)
    assert queries.can_work_need(staff["officer_x"], need)
