"""The batches' stage deadlines: the officer reminded once before the next stage is due, the officer and the
region's managers told once when it has passed; nothing for stages reached, closed applications or no deadline."""
from datetime import timedelta

from flask_babel import force_locale
from sqlalchemy import select

from crm.core import clock
from crm.cycle import jobs
from crm.notify.messages import render
from crm.notify.models import Notification
from tests import factories
from tests.cycle.helpers import application, batch


def _notes(db):
    return [(n.user_id, n.kind, n.params["stage"], n.params["days"])
            for n in db.session.scalars(select(Notification).order_by(Notification.id))]


def test_officer_reminded_before_and_told_with_managers_after(app, world, db):
    today = clock.today()
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    manager = factories.user("manager", region=world.city)
    other_manager = factories.user("manager", region=world.other_city)
    b = batch(world.city, "high_tech", materials_by=today + timedelta(days=7),
              submitted_by=today + timedelta(days=20))
    a = application(b, world.ent_x, "coaching")  # next: materials, due in 7 days
    db.session.commit()
    assert "1" in jobs.stage_deadlines(today)
    db.session.commit()
    assert _notes(db) == [(officer.id, "cycle_deadline_soon", "materials", 7)]
    jobs.stage_deadlines(today + timedelta(days=1))  # the next day: not again
    db.session.commit()
    assert len(_notes(db)) == 1
    # the day passes without reaching materials: late, to the officer and the city's managers, once
    late_day = today + timedelta(days=9)
    jobs.stage_deadlines(late_day)
    jobs.stage_deadlines(late_day + timedelta(days=1))
    db.session.commit()
    assert _notes(db)[1:] == [(officer.id, "cycle_deadline_late", "materials", 2),
                              (manager.id, "cycle_deadline_late", "materials", 2)]
    assert other_manager.id not in [n[0] for n in _notes(db)]
    note = db.session.scalars(select(Notification).order_by(Notification.id.desc())).first()
    assert note.link == f"/cycle/batches/{b.id}"
    with force_locale("zh_Hans_CN"):
        title, body = render(note.kind, note.params)
    assert "2" in title and world.ent_x.name in body and "材料" in body
    with force_locale("en"):
        title, body = render(note.kind, note.params)
    assert title == "An application is 2 days behind its deadline" and "Materials" in body
    assert a.stage == "coaching"


def test_nothing_for_reached_closed_or_undated(world, db):
    today = clock.today()
    factories.user("officer", region=world.city, serves=[world.ent_x, world.ent_y, world.ent_park])
    b = batch(world.city, "high_tech", coaching_by=today - timedelta(days=3), materials_by=today + timedelta(days=2))
    application(b, world.ent_x, "materials")  # next: submitted, no deadline
    moved = application(b, world.ent_y, "coaching")  # next: materials in 2 days → reminded
    from crm.cycle import services

    closed = application(b, world.ent_park, "intent")
    services.move_application(closed, "not_passed", actor="test", reason="withdrawn")
    db.session.commit()
    jobs.stage_deadlines(today)
    db.session.commit()
    assert [(n[1], n[2]) for n in _notes(db)] == [("cycle_deadline_soon", "materials")]
    assert db.session.scalar(select(Notification.params)).get("enterprise") == moved.enterprise.name


def test_without_an_officer_the_one_who_filed_is_told(world, db):
    today = clock.today()
    manager = factories.user("manager", region=world.city)
    b = batch(world.city, "high_tech", coaching_by=today + timedelta(days=1))
    application(b, world.ent_x, "intent", actor=manager)
    db.session.commit()
    jobs.stage_deadlines(today)
    db.session.commit()
    assert _notes(db) == [(manager.id, "cycle_deadline_soon", "coaching", 1)]
