"""Visits (走访): one unit of work with needs and a follow-up, scoping, policies, the author's edit window."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm.core import clock
from crm.core.audit import AuditEvent
from crm.core.db import utcnow
from crm.core.validation import ValidationFailed
from crm.service import queries, services
from crm.service.models import FollowUp, Need, Visit
from tests import factories
from tests.service.conftest import audit_events, count


def _visit_data(visited_on, **kw):
    data = {"visited_on": visited_on, "mode": "onsite", "people_met": "张总", "summary": "了解研发投入",
            "policy_ids": []}
    data.update(kw)
    return data


def test_record_visit_with_needs_and_a_follow_up_in_one_go(world, staff, db):
    officer = staff["officer_x"]
    p_a, p_b = factories.policy("A 研发费用加计扣除"), factories.policy("B 高企认定奖补")
    visited = clock.today() - timedelta(days=2)
    visit = services.record_visit(
        world.ent_x,
        _visit_data(visited, people_met=" 张总、李工 ", summary="  谈了研发投入  ",
                    policy_ids=[str(p_b.id), p_a.id, p_b.id]),
        actor=officer,
        needs=[{"category": "policy", "title": " 加计扣除怎么申报 "},
               {"category": "premises", "title": "扩建厂房", "description": " 需要 2000 平米 "}],
        follow_up={"due_on": visited + timedelta(days=14), "action": ""},
    )
    db.session.commit()
    db.session.expire_all()

    visit = db.session.get(Visit, visit.id)
    assert (visit.enterprise_id, visit.officer_id, visit.visited_on) == (world.ent_x.id, officer.id, visited)
    assert (visit.people_met, visit.summary, visit.mode) == ("张总、李工", "谈了研发投入", "onsite")
    assert [p.title for p in visit.policies] == ["A 研发费用加计扣除", "B 高企认定奖补"]

    needs = sorted(visit.needs, key=lambda n: n.id)
    assert [n.title for n in needs] == ["加计扣除怎么申报", "扩建厂房"]
    assert needs[1].description == "需要 2000 平米"
    for n in needs:
        assert n.visit_id == visit.id and n.enterprise_id == world.ent_x.id
        assert n.raised_on == visited
        assert n.status == "open" and n.version == 1 and n.closed_on is None
        assert n.owner_id == officer.id  # nobody serves ent_x: the recording officer
        assert n.created_by_id == officer.id
    assert needs[0].due_on == visited + timedelta(days=7)   # policy question: a week
    assert needs[1].due_on == visited + timedelta(days=90)  # land & premises: a quarter
    assert count(db, Need) == 2

    [follow_up] = visit.follow_ups
    assert follow_up.source == "visit" and follow_up.need_id is None
    assert follow_up.assignee_id == officer.id and follow_up.created_by_id == officer.id
    assert follow_up.due_on == visited + timedelta(days=14)
    assert visited.isoformat() in follow_up.action  # an empty action gets a default naming the visit
    assert count(db, FollowUp) == 1

    [ev] = audit_events(db, "visits", "create")
    assert ev.entity_id == visit.id and ev.actor_id == officer.id and ev.enterprise_id == world.ent_x.id
    assert ev.changes["policies"] == [None, ["A 研发费用加计扣除", "B 高企认定奖补"]]
    assert ev.changes["visited_on"] == [None, visited.isoformat()]
    assert sorted(e.entity_id for e in audit_events(db, "needs", "create")) == [n.id for n in needs]
    [fev] = audit_events(db, "follow_ups", "create")
    assert fev.entity_id == follow_up.id and fev.changes["source"] == [None, "visit"]


def test_a_visit_follow_up_may_go_to_another_taker_and_without_a_date_none_is_planned(world, staff, db):
    v1 = services.record_visit(world.ent_x, _visit_data(clock.today()), actor=staff["officer_x"],
                               follow_up={"due_on": clock.today(), "action": "送政策汇编",
                                          "assignee_id": staff["officer_x2"].id})
    assert [(f.assignee_id, f.action) for f in v1.follow_ups] == [(staff["officer_x2"].id, "送政策汇编")]
    v2 = services.record_visit(world.ent_x, _visit_data(clock.today()), actor=staff["officer_x"],
                               follow_up={"due_on": None, "action": "x"})
    db.session.commit()
    assert v2.follow_ups == [] and count(db, FollowUp) == 1


def test_a_visit_in_the_future_is_refused(world, staff, db):
    with pytest.raises(ValidationFailed) as e:
        services.record_visit(world.ent_x, _visit_data(clock.today() + timedelta(days=1)), actor=staff["officer_x"])
    assert set(e.value.errors) == {"visited_on"}
    assert count(db, Visit) == 0
    # today itself is fine
    assert services.record_visit(world.ent_x, _visit_data(clock.today()), actor=staff["officer_x"]).id


@pytest.mark.parametrize("who, where", [("officer_y", "ent_x"), ("officer_z", "ent_x"), ("officer_x", "ent_y"),
                                        ("manager_other", "ent_park"), ("firm", "ent_x")])
def test_an_enterprise_outside_the_actors_region_is_refused_and_nothing_written(world, staff, db, who, where):
    before = count(db, AuditEvent)
    with pytest.raises(ValidationFailed) as e:
        services.record_visit(getattr(world, where), _visit_data(clock.today()), actor=staff[who],
                              needs=[{"category": "talent", "title": "招人"}],
                              follow_up={"due_on": clock.today(), "action": "回访"})
    assert set(e.value.errors) == {""}
    assert (count(db, Visit), count(db, Need), count(db, FollowUp), count(db, AuditEvent)) == (0, 0, 0, before)
    db.session.rollback()
    assert (count(db, Visit), count(db, Need), count(db, FollowUp)) == (0, 0, 0)


def test_an_officer_of_the_county_may_record_for_a_park_in_it(world, staff, db):
    v = services.record_visit(world.ent_park, _visit_data(clock.today()), actor=staff["officer_x"])
    assert v.enterprise_id == world.ent_park.id


def test_an_archived_enterprise_takes_no_new_visit(world, staff, db):
    world.ent_x.archived_at = utcnow()
    db.session.commit()
    with pytest.raises(ValidationFailed):
        services.record_visit(world.ent_x, _visit_data(clock.today()), actor=staff["officer_x"])
    assert count(db, Visit) == 0


def test_an_unknown_policy_is_refused(world, staff, db):
    p = factories.policy()
    db.session.commit()
    with pytest.raises(ValidationFailed) as e:
        services.record_visit(world.ent_x, _visit_data(clock.today(), policy_ids=[p.id, p.id + 1000]),
                              actor=staff["officer_x"])
    assert set(e.value.errors) == {"policy_ids"}
    assert count(db, Visit) == 0


def test_a_refused_need_inside_the_visit_leaves_nothing_after_the_rollback(world, staff, db):
    day = clock.today()
    with pytest.raises(ValidationFailed) as e:
        services.record_visit(world.ent_x, _visit_data(day), actor=staff["officer_x"],
                              needs=[{"category": "talent", "title": "招人", "due_on": day - timedelta(days=1)}])
    assert set(e.value.errors) == {"due_on"}
    db.session.rollback()  # what the view does with any exception
    assert (count(db, Visit), count(db, Need), count(db, AuditEvent)) == (0, 0, 0)


# --- the edit window -------------------------------------------------------------------------

@pytest.fixture
def recorded(world, staff, db):
    """A visit officer_x recorded (now), explaining policy A, committed."""
    p_a = factories.policy("A 政策")
    visit = services.record_visit(world.ent_x, _visit_data(clock.today() - timedelta(days=1), policy_ids=[p_a.id]),
                                  actor=staff["officer_x"])
    db.session.commit()
    return visit


def _on_day(monkeypatch, visit, days):
    """Freeze 'today' `days` after the day the visit was recorded."""
    day = clock.local_date(visit.created_at) + timedelta(days=days)
    monkeypatch.setattr(clock, "today", lambda: day)
    return day


def _edit(visit, actor, summary="改过的纪要", **kw):
    data = {"visited_on": visit.visited_on, "mode": visit.mode, "people_met": visit.people_met, "summary": summary,
            "policy_ids": [p.id for p in visit.policies]}
    data.update(kw)
    return services.update_visit(visit, data, actor=actor)


@pytest.mark.parametrize("days", [0, 7])
def test_the_author_may_edit_within_seven_days(recorded, staff, db, monkeypatch, days):
    _on_day(monkeypatch, recorded, days)
    assert queries.can_edit_visit(staff["officer_x"], recorded)
    changes = _edit(recorded, staff["officer_x"])
    db.session.commit()
    assert changes == {"summary": ["了解研发投入", "改过的纪要"]}
    assert db.session.get(Visit, recorded.id).summary == "改过的纪要"
    [ev] = audit_events(db, "visits", "update")
    assert ev.actor_id == staff["officer_x"].id and ev.changes == changes


@pytest.mark.parametrize("days", [8, 30])
def test_the_author_may_not_edit_after_seven_days(recorded, staff, db, monkeypatch, days):
    _on_day(monkeypatch, recorded, days)
    assert not queries.can_edit_visit(staff["officer_x"], recorded)
    with pytest.raises(ValidationFailed) as e:
        _edit(recorded, staff["officer_x"])
    assert set(e.value.errors) == {""}
    db.session.rollback()
    assert db.session.get(Visit, recorded.id).summary == "了解研发投入"
    assert audit_events(db, "visits", "update") == []


def test_the_window_runs_from_when_the_visit_was_recorded(recorded, staff, db):
    recorded.created_at = utcnow() - timedelta(days=7)
    assert queries.can_edit_visit(staff["officer_x"], recorded)
    recorded.created_at = utcnow() - timedelta(days=8)
    assert not queries.can_edit_visit(staff["officer_x"], recorded)
    with pytest.raises(ValidationFailed):
        _edit(recorded, staff["officer_x"])


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_a_manager_of_the_region_may_edit_afterwards_audited(recorded, staff, db, monkeypatch, who):
    _on_day(monkeypatch, recorded, 30)
    assert queries.can_edit_visit(staff[who], recorded)
    changes = _edit(recorded, staff[who], summary="经理补充")
    db.session.commit()
    assert changes == {"summary": ["了解研发投入", "经理补充"]}
    [ev] = audit_events(db, "visits", "update")
    assert ev.actor_id == staff[who].id and ev.entity_id == recorded.id


@pytest.mark.parametrize("who", ["manager_other", "officer_x2", "officer_y", "firm"])
def test_others_may_not_edit_the_visit_even_on_day_zero(recorded, staff, db, monkeypatch, who):
    _on_day(monkeypatch, recorded, 0)
    assert not queries.can_edit_visit(staff[who], recorded)
    with pytest.raises(ValidationFailed):
        _edit(recorded, staff[who])
    db.session.rollback()
    assert db.session.get(Visit, recorded.id).summary == "了解研发投入"


def test_an_edit_cannot_move_the_visit_into_the_future(recorded, staff, db):
    with pytest.raises(ValidationFailed) as e:
        _edit(recorded, staff["officer_x"], visited_on=clock.today() + timedelta(days=1))
    assert set(e.value.errors) == {"visited_on"}


def test_a_policies_change_is_audited_with_old_and_new_titles(recorded, staff, db):
    p_b, p_c = factories.policy("B 政策"), factories.policy("C 政策")
    [p_a] = recorded.policies
    changes = _edit(recorded, staff["officer_x"], summary=recorded.summary, policy_ids=[p_c.id, p_b.id])
    db.session.commit()
    assert changes == {"policies": [["A 政策"], ["B 政策", "C 政策"]]}
    assert [p.title for p in db.session.get(Visit, recorded.id).policies] == ["B 政策", "C 政策"]
    [ev] = audit_events(db, "visits", "update")
    assert ev.changes == {"policies": [["A 政策"], ["B 政策", "C 政策"]]}
    # saving the same again changes nothing and writes no event
    assert _edit(recorded, staff["officer_x"], summary=recorded.summary, policy_ids=[p_b.id, p_c.id]) == {}
    db.session.commit()
    assert len(audit_events(db, "visits", "update")) == 1
    # and the policy dropped from the visit still exists
    assert p_a.id and db.session.get(type(p_a), p_a.id) is not None
