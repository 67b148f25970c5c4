"""Each scheduled rule fires on the right day, for the right people, and only once (controlled clock)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from crm.notify.models import Notification
from crm.service import jobs as service_jobs
from crm.service import services
from crm.service.models import FollowUp
from tests import factories

DAY = date(2026, 11, 25)  # a Wednesday


@pytest.fixture
def people(world, db):
    """The city's and the other city's managers, county X's manager, ent_x's officer and its enterprise user."""
    p = {
        "manager_city": factories.user("manager", region=world.city, name="王经理"),
        "manager_x": factories.user("manager", region=world.county_x, name="兴庆区经理"),
        "manager_other": factories.user("manager", region=world.other_city, name="石经理"),
        "officer": factories.user("officer", region=world.county_x, name="李晓梅", serves=[world.ent_x]),
        "firm": factories.user("enterprise", enterprise=world.ent_x, name="张总"),
    }
    db.session.commit()
    return p


def _en(job, day):
    """What a job says it did, in English (jobs word it in the current language)."""
    with force_locale("en"):
        return str(job(day))


def _notes(db, user=None, kind=None) -> list[Notification]:
    stmt = select(Notification).order_by(Notification.id)
    if user is not None:
        stmt = stmt.where(Notification.user_id == user.id)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt))


def test_follow_up_digest_once_a_day_per_person(world, people, db):
    me = people["officer"]
    for due, action in [(DAY - timedelta(days=3), "逾期一"), (DAY, "今天的"), (DAY + timedelta(days=1), "明天的"),
                        (DAY + timedelta(days=3), "后天以后")]:
        factories.follow_up(world.ent_x, me, due_on=due, action=action)
    factories.follow_up(world.ent_x, me, due_on=DAY - timedelta(days=1), action="已完成",
                        done_at=factories.utc(DAY))
    db.session.commit()
    assert _en(service_jobs.follow_up_digest, DAY) == "1 digests"
    (note,) = _notes(db, me)
    assert note.params["overdue"] == 1 and note.params["today"] == 1 and note.params["tomorrow"] == 1
    assert note.params["actions"] == ["逾期一", "今天的", "明天的"]
    assert _en(service_jobs.follow_up_digest, DAY) == "0 digests"  # same day again: nothing
    assert _en(service_jobs.follow_up_digest, DAY + timedelta(days=1)) == "1 digests"  # the next day: a new one
    assert len(_notes(db, me)) == 2


def test_no_digest_for_someone_with_nothing_due_soon(world, people, db):
    factories.follow_up(world.ent_x, people["officer"], due_on=DAY + timedelta(days=2))
    db.session.commit()
    assert _en(service_jobs.follow_up_digest, DAY) == "0 digests"


def test_overdue_need_tells_its_owner_once_then_escalates_to_the_regions_managers(world, people, db, app):
    need = factories.need(world.ent_x, owner=people["officer"], raised_on=DAY - timedelta(days=40),
                          due_on=DAY - timedelta(days=1), title="申请科技贷款")
    db.session.commit()
    service_jobs.overdue_needs(DAY)
    service_jobs.overdue_needs(DAY + timedelta(days=1))
    assert [n.kind for n in _notes(db, people["officer"])] == ["need_overdue"]
    limit = app.config["NEED_ESCALATION_DAYS"]
    service_jobs.overdue_needs(need.due_on + timedelta(days=limit))  # exactly 14 days late: not yet
    assert _notes(db, kind="need_escalation") == []
    service_jobs.overdue_needs(need.due_on + timedelta(days=limit + 1))
    service_jobs.overdue_needs(need.due_on + timedelta(days=limit + 5))
    told = {n.user_id for n in _notes(db, kind="need_escalation")}
    assert told == {people["manager_city"].id, people["manager_x"].id}  # not the other city's manager
    assert len(_notes(db, kind="need_escalation")) == 2


def test_a_need_given_a_new_due_date_is_reported_again_when_that_passes(world, people, db):
    need = factories.need(world.ent_x, owner=people["officer"], raised_on=DAY - timedelta(days=10),
                          due_on=DAY - timedelta(days=1))
    db.session.commit()
    service_jobs.overdue_needs(DAY)
    need.due_on = DAY + timedelta(days=5)
    db.session.commit()
    service_jobs.overdue_needs(DAY + timedelta(days=3))
    service_jobs.overdue_needs(DAY + timedelta(days=6))
    assert len(_notes(db, people["officer"], "need_overdue")) == 2


def test_closed_needs_are_never_overdue(world, people, db):
    factories.need(world.ent_x, owner=people["officer"], raised_on=DAY - timedelta(days=40),
                   due_on=DAY - timedelta(days=30), status="resolved", resolution="ok", closed_on=DAY)
    db.session.commit()
    assert _en(service_jobs.overdue_needs, DAY) == "0 owners and 0 managers told"


@pytest.mark.parametrize("days_left, thresholds", [(181, []), (180, [180]), (150, [180]), (90, [180, 90]),
                                                   (30, [180, 90, 30]), (0, [180, 90, 30])])
def test_expiry_warnings_at_180_90_and_30_days_once_each(world, people, db, days_left, thresholds):
    from crm.ladder import jobs as ladder_jobs

    cert = factories.certification(world.ent_x, "high_tech", issued_on=DAY - timedelta(days=900))
    cert.expires_on = DAY + timedelta(days=days_left)
    db.session.commit()
    # every day from 200 days before expiry up to `days_left` before it, as a daily runner would
    for day in range(200, days_left - 1, -1):
        ladder_jobs.expiry_warnings(cert.expires_on - timedelta(days=day))
    for person in (people["officer"], people["firm"]):
        got = [n.dedupe_key.split(":")[2] for n in _notes(db, person, "cert_expiry")]
        assert got == [str(t) for t in thresholds], person.name
    assert _notes(db, people["manager_city"]) == []


def test_expiry_warning_after_an_outage_is_one_message_for_the_threshold_reached(world, people, db):
    from crm.ladder import jobs as ladder_jobs

    cert = factories.certification(world.ent_x, "tech_sme", issued_on=DAY - timedelta(days=300))
    cert.expires_on = DAY + timedelta(days=85)
    db.session.commit()
    ladder_jobs.expiry_warnings(DAY)  # the runner was down from 181 days before until 85 days before
    notes = _notes(db, people["officer"], "cert_expiry")
    assert [n.dedupe_key.split(":")[2] for n in notes] == ["90"]
    assert notes[0].params["days"] == 85 and notes[0].params["tier"] == "tech_sme"


def test_recertification_follow_up_is_planned_once_for_high_tech_only(world, people, db):
    high = factories.certification(world.ent_x, "high_tech", issued_on=DAY - timedelta(days=900))
    high.expires_on = DAY + timedelta(days=180)
    sme = factories.certification(world.ent_x, "tech_sme", issued_on=DAY - timedelta(days=100))
    sme.expires_on = DAY + timedelta(days=170)
    no_officer = factories.certification(world.ent_y, "high_tech", issued_on=DAY - timedelta(days=900))
    no_officer.expires_on = DAY + timedelta(days=100)
    db.session.commit()
    assert _en(service_jobs.recertification_follow_ups, DAY - timedelta(days=1)) == "0 re-certification follow-ups"
    assert _en(service_jobs.recertification_follow_ups, DAY) == "1 re-certification follow-ups"
    assert _en(service_jobs.recertification_follow_ups, DAY + timedelta(days=1)) == "0 re-certification follow-ups"
    (fu,) = db.session.scalars(select(FollowUp)).all()
    assert (fu.enterprise_id, fu.assignee_id, fu.source) == (world.ent_x.id, people["officer"].id, "expiry")
    assert fu.due_on == DAY + timedelta(days=30)
    assert [n.kind for n in _notes(db, people["officer"])] == ["recert_follow_up"]


def test_weekly_summary_once_a_week_with_the_regions_numbers(world, people, db):
    monday = date(2026, 11, 23)
    factories.visit(world.ent_x, people["officer"], visited_on=monday - timedelta(days=3))
    factories.visit(world.ent_z, people["officer"], visited_on=monday - timedelta(days=3))  # other city
    factories.need(world.ent_x, raised_on=monday - timedelta(days=2))
    factories.need(world.ent_x, raised_on=monday - timedelta(days=20), due_on=monday - timedelta(days=10))
    db.session.commit()
    assert _en(service_jobs.weekly_summary, monday) == "3 weekly summaries"
    assert _en(service_jobs.weekly_summary, monday + timedelta(days=2)) == "0 weekly summaries"  # same ISO week
    city = _notes(db, people["manager_city"], "weekly_summary")[0].params
    assert (city["visits"], city["needs_opened"], city["overdue"]) == (1, 1, 1)
    assert city["behind"] == 0  # no target yet
    other = _notes(db, people["manager_other"], "weekly_summary")[0].params
    assert (other["visits"], other["needs_opened"]) == (1, 0)


def test_weekly_summary_counts_the_targets_behind_pace(world, people, db):
    from decimal import Decimal

    from crm.pipeline.models import Target

    monday = date(2026, 11, 23)
    db.session.add_all([Target(year=2026, region_id=world.city.id, metric="visits", tier="", value=Decimal(100)),
                        Target(year=2026, region_id=world.city.id, metric="coverage", tier="", value=Decimal(0))])
    db.session.commit()
    service_jobs.weekly_summary(monday)
    city = _notes(db, people["manager_city"], "weekly_summary")[0]
    assert city.params["behind"] == 1  # no visits against 100 is red; a 0% coverage target is met
    with force_locale("en"):
        from crm.notify.messages import render

        assert "1 targets behind pace" in render(city.kind, city.params)[1]


def test_the_enterprise_hears_when_its_own_need_changes_status(world, people, db):
    mine = factories.need(world.ent_x, owner=people["officer"], created_by_id=people["firm"].id)
    officers = factories.need(world.ent_x, owner=people["officer"], created_by_id=people["officer"].id)
    db.session.commit()
    services.change_need_status(mine, "in_progress", actor=people["officer"], version=mine.version)
    services.change_need_status(officers, "in_progress", actor=people["officer"], version=officers.version)
    db.session.commit()
    (note,) = _notes(db, people["firm"])
    assert note.kind == "need_status" and (note.params["old"], note.params["new"]) == ("open", "in_progress")
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1
