"""Follow-ups (跟进): what, who, by when; done once with a note; changed by the assignee or a manager only."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm.core import clock
from crm.core.validation import ValidationFailed
from crm.service import queries, services
from crm.service.models import FollowUp
from tests import factories
from tests.service.conftest import audit_events, count


def _due(days=7):
    return clock.today() + timedelta(days=days)


def _reloaded(db, follow_up) -> FollowUp:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(FollowUp, follow_up.id)


# --- add -----------------------------------------------------------------------------------------

def test_add_defaults_the_assignee_to_the_actor_and_is_audited(world, staff, db):
    f = services.add_follow_up(world.ent_x, {"due_on": _due(), "action": "  送高企申报指南  "},
                               actor=staff["officer_x"])
    db.session.commit()
    f = _reloaded(db, f)
    assert (f.assignee_id, f.created_by_id, f.action, f.due_on) == (
        staff["officer_x"].id, staff["officer_x"].id, "送高企申报指南", _due())
    assert (f.source, f.need_id, f.visit_id, f.done_at, f.is_done) == ("manual", None, None, None, False)
    [ev] = audit_events(db, "follow_ups", "create", f.id)
    assert ev.actor_id == staff["officer_x"].id and ev.changes["action"] == [None, "送高企申报指南"]


@pytest.mark.parametrize("assignee", ["officer_x2", "manager"])
def test_add_for_another_taker_of_the_region(world, staff, db, assignee):
    data = {"due_on": _due(), "action": "回访", "assignee_id": str(staff[assignee].id)}
    f = services.add_follow_up(world.ent_park, data, actor=staff["officer_x"])
    assert f.assignee_id == staff[assignee].id


def test_add_linked_to_a_need(world, staff, db):
    need = factories.need(world.ent_x, owner_id=staff["officer_x"].id)
    f = services.add_follow_up(world.ent_x, {"due_on": _due(), "action": "约专家"}, actor=staff["officer_x"], need=need,
                               source="need")
    db.session.commit()
    f = _reloaded(db, f)
    assert (f.need_id, f.source) == (need.id, "need") and [x.id for x in f.need.follow_ups] == [f.id]


@pytest.mark.parametrize("assignee", ["officer_y", "officer_z", "manager_other", "admin", "firm", "inactive", "ghost"])
def test_add_with_an_assignee_outside_the_region_is_refused(world, staff, db, assignee):
    staff["inactive"] = factories.user("officer", region=world.county_x, active=False)
    assignee_id = 999999 if assignee == "ghost" else staff[assignee].id
    with pytest.raises(ValidationFailed) as e:
        services.add_follow_up(world.ent_x, {"due_on": _due(), "action": "回访", "assignee_id": assignee_id},
                               actor=staff["officer_x"])
    assert set(e.value.errors) == {"assignee_id"}
    assert count(db, FollowUp) == 0


def test_an_admin_must_choose_an_assignee(world, staff, db):
    with pytest.raises(ValidationFailed) as e:
        services.add_follow_up(world.ent_x, {"due_on": _due(), "action": "回访"}, actor=staff["admin"])
    assert set(e.value.errors) == {"assignee_id"}
    f = services.add_follow_up(world.ent_x, {"due_on": _due(), "action": "回访",
                                             "assignee_id": staff["officer_x"].id}, actor=staff["admin"])
    assert f.assignee_id == staff["officer_x"].id


@pytest.mark.parametrize("action", ["", "   ", None])
def test_add_without_an_action_is_refused(world, staff, db, action):
    with pytest.raises(ValidationFailed) as e:
        services.add_follow_up(world.ent_x, {"due_on": _due(), "action": action}, actor=staff["officer_x"])
    assert set(e.value.errors) == {"action"}
    assert count(db, FollowUp) == 0


@pytest.mark.parametrize("who", ["officer_y", "officer_z", "manager_other", "firm"])
def test_add_for_an_enterprise_outside_the_actors_region_is_refused(world, staff, db, who):
    with pytest.raises(ValidationFailed) as e:
        services.add_follow_up(world.ent_x, {"due_on": _due(), "action": "回访", "assignee_id": staff["officer_x"].id},
                               actor=staff[who])
    assert set(e.value.errors) == {""}
    assert count(db, FollowUp) == 0


# --- complete ------------------------------------------------------------------------------------

@pytest.fixture
def planned(world, staff, db):
    """A follow-up of ent_x assigned to officer_x, committed."""
    f = factories.follow_up(world.ent_x, staff["officer_x"], action="回访企业")
    db.session.commit()
    return f


def test_complete_once_with_a_note_audited(planned, staff, db):
    assert planned.is_overdue(_due(30)) and not planned.is_overdue(clock.today())
    assert services.complete_follow_up(planned, "  已送达申报指南  ", actor=staff["officer_x"]) is True
    db.session.commit()
    f = _reloaded(db, planned)
    assert f.is_done and f.done_note == "已送达申报指南" and f.done_by_id == staff["officer_x"].id
    assert not f.is_overdue(_due(30))
    done_at = f.done_at
    [ev] = audit_events(db, "follow_ups", "complete", f.id)
    assert ev.actor_id == staff["officer_x"].id and ev.changes["done_note"] == [None, "已送达申报指南"]

    # a second completion (double submit, or the manager at the same time) changes nothing
    assert services.complete_follow_up(f, "另一条说明", actor=staff["manager"]) is False
    db.session.commit()
    f = _reloaded(db, f)
    assert (f.done_note, f.done_at, f.done_by_id) == ("已送达申报指南", done_at, staff["officer_x"].id)
    assert len(audit_events(db, "follow_ups", "complete")) == 1


@pytest.mark.parametrize("who, may", [("officer_x", True), ("manager", True), ("admin", True),
                                      ("officer_x2", False), ("officer_y", False), ("manager_other", False),
                                      ("firm", False)])
def test_who_may_complete(planned, staff, db, who, may):
    assert queries.can_work_follow_up(staff[who], planned) is may
    if may:
        assert services.complete_follow_up(planned, "办结", actor=staff[who]) is True
        db.session.commit()
        assert _reloaded(db, planned).done_by_id == staff[who].id
    else:
        with pytest.raises(ValidationFailed) as e:
            services.complete_follow_up(planned, "办结", actor=staff[who])
        assert set(e.value.errors) == {""}
        f = _reloaded(db, planned)
        assert not f.is_done and f.done_note == ""
        assert audit_events(db, "follow_ups", "complete") == []


# --- update --------------------------------------------------------------------------------------

def test_the_assignee_updates_what_and_when_audited(planned, staff, db):
    changes = services.update_follow_up(planned, {"action": " 电话回访 ", "due_on": _due(3)}, actor=staff["officer_x"])
    db.session.commit()
    f = _reloaded(db, planned)
    assert (f.action, f.due_on, f.assignee_id) == ("电话回访", _due(3), staff["officer_x"].id)
    assert changes == {"action": ["回访企业", "电话回访"], "due_on": [_due().isoformat(), _due(3).isoformat()]}
    [ev] = audit_events(db, "follow_ups", "update", f.id)
    assert ev.changes == changes and ev.actor_id == staff["officer_x"].id
    # the same again: no change, no event
    assert services.update_follow_up(f, {"action": "电话回访", "due_on": _due(3)}, actor=staff["officer_x"]) == {}
    db.session.commit()
    assert len(audit_events(db, "follow_ups", "update")) == 1


def test_a_manager_reassigns_it(planned, staff, db):
    changes = services.update_follow_up(planned, {"action": "回访企业", "due_on": planned.due_on,
                                                  "assignee_id": str(staff["officer_x2"].id)}, actor=staff["manager"])
    db.session.commit()
    assert changes == {"assignee_id": [staff["officer_x"].id, staff["officer_x2"].id]}
    f = _reloaded(db, planned)
    assert f.assignee_id == staff["officer_x2"].id
    # now the former assignee may no longer change it, the new one may
    assert not queries.can_work_follow_up(staff["officer_x"], f)
    assert queries.can_work_follow_up(staff["officer_x2"], f)


@pytest.mark.parametrize("who", ["officer_x2", "officer_y", "manager_other", "firm"])
def test_update_is_refused_for_anyone_else(planned, staff, db, who):
    with pytest.raises(ValidationFailed) as e:
        services.update_follow_up(planned, {"action": "改掉", "due_on": _due(1)}, actor=staff[who])
    assert set(e.value.errors) == {""}
    f = _reloaded(db, planned)
    assert (f.action, f.due_on) == ("回访企业", _due())
    assert audit_events(db, "follow_ups", "update") == []


def test_update_refuses_an_empty_action_and_an_assignee_outside_the_region(planned, staff, db):
    with pytest.raises(ValidationFailed) as e:
        services.update_follow_up(planned, {"action": "  ", "due_on": _due()}, actor=staff["officer_x"])
    assert set(e.value.errors) == {"action"}
    with pytest.raises(ValidationFailed) as e:
        services.update_follow_up(planned, {"action": "回访", "due_on": _due(), "assignee_id": staff["officer_y"].id},
                                  actor=staff["manager"])
    assert set(e.value.errors) == {"assignee_id"}
    f = _reloaded(db, planned)
    assert (f.action, f.assignee_id) == ("回访企业", staff["officer_x"].id)
