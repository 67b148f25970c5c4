"""The push at work: the window-opening notification (once per officer, the right enterprises), the closing
reminder (informed, not applied), the workbench's "policies to tell", the enterprise page's card, the portal."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.core import clock
from crm.notify.models import Notification
from crm.policies import jobs, services
from crm.service import services as service_services
from tests import factories
from tests.helpers import text


@pytest.fixture
def setup(world, db):
    """officer1 serves ent_x (tech staff 10%: eligible) and the park (12%: eligible, already informed);
    officer2 serves ent_y (5%: not eligible); e3 (20%, county X) has no officer."""
    today = clock.today()
    year = today.year - 1
    factories.figures(world.ent_x, year, employees=100, tech_staff=10)
    factories.figures(world.ent_park, year, employees=100, tech_staff=12)
    factories.figures(world.ent_y, year, employees=100, tech_staff=5)
    e3 = factories.enterprise(world.county_x, name="无人包保科技有限公司")
    factories.figures(e3, year, employees=100, tech_staff=20)
    officer1 = factories.user("officer", region=world.county_x, name="官一", serves=[world.ent_x, world.ent_park])
    officer2 = factories.user("officer", region=world.county_y, name="官二", serves=[world.ent_y])
    db.session.commit()
    return {"today": today, "officer1": officer1, "officer2": officer2, "e3": e3}


def _policy(today, opens_in: int, closes_in: int | None, **kw):
    return factories.policy(kw.pop("title", "研发后补助"), opens_on=today + timedelta(days=opens_in),
                            closes_on=today + timedelta(days=closes_in) if closes_in is not None else None,
                            conditions={"min_tech_staff_ratio": "10"}, **kw)


def _notes(db, kind=None):
    stmt = select(Notification).order_by(Notification.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt))


def test_a_window_opening_tells_each_officer_once_of_their_enterprises_to_inform(world, setup, db):
    today = setup["today"]
    policy = _policy(today, 0, 60)
    services.set_push(policy, world.ent_park, "informed", actor="test")
    db.session.commit()
    jobs.window_notifications(today)
    db.session.commit()
    notes = _notes(db, "policy_window_open")
    assert [(n.user_id, n.params["enterprises"], n.params["n"]) for n in notes] == [
        (setup["officer1"].id, [world.ent_x.name], 1)]  # the park was told already; ent_y does not qualify
    assert notes[0].link == "/workbench"
    # run again (the next day too, within the look-back): nobody is told twice
    jobs.window_notifications(today)
    jobs.window_notifications(today + timedelta(days=1))
    db.session.commit()
    assert len(_notes(db)) == 1


def test_a_window_opened_long_ago_or_not_yet_open_tells_nobody(world, setup, db):
    today = setup["today"]
    _policy(today, -(jobs.OPENING_LOOKBACK_DAYS + 1), 60, title="早已开放")
    _policy(today, 1, 60, title="明天开放")
    _policy(today, -3, -1, title="已截止")
    factories.policy("停用政策", opens_on=today, closes_on=today + timedelta(days=30), active=False)
    db.session.commit()
    jobs.window_notifications(today)
    db.session.commit()
    assert _notes(db) == []


def test_the_reminder_before_closing_lists_the_informed_not_applied(app, world, setup, db):
    today = setup["today"]
    policy = _policy(today, -30, 10)
    later = _policy(today, -30, 20, title="晚些截止")
    services.set_push(policy, world.ent_x, "informed", actor="test")
    services.set_push(policy, world.ent_park, "informed", actor="test")
    services.set_push(policy, world.ent_park, "applied", actor="test")
    services.set_push(later, world.ent_x, "informed", actor="test")
    db.session.commit()
    jobs.window_notifications(today)
    jobs.window_notifications(today)
    db.session.commit()
    notes = _notes(db, "policy_window_closing")
    assert [(n.user_id, n.params["policy"], n.params["enterprises"], n.params["days"]) for n in notes] == [
        (setup["officer1"].id, policy.title, [world.ent_x.name], 10)]
    app.config["POLICY_REMINDER_DAYS"] = 20  # configurable: now "later" is within reach too
    try:
        jobs.window_notifications(today)
    finally:
        app.config["POLICY_REMINDER_DAYS"] = 14
    db.session.commit()
    assert [n.params["policy"] for n in _notes(db, "policy_window_closing")] == [policy.title, later.title]


def test_the_job_is_registered_and_runs_once_through_the_scheduler(world, setup, db):
    from crm.notify.scheduler import job_by_id, run_now

    _policy(setup["today"], 0, 60)
    db.session.commit()
    job = job_by_id("policies.window_notifications")
    assert run_now(job).outcome == "ok"
    assert run_now(job).outcome == "ok"
    assert len(_notes(db, "policy_window_open")) == 1


def test_the_notification_reads_in_words(client, login_as, world, setup, db):
    _policy(setup["today"], 0, 60, title="科技创新券")
    db.session.commit()
    jobs.window_notifications(setup["today"])
    db.session.commit()
    login_as(setup["officer1"])
    body = text(client.get("/notifications"))
    assert "科技创新券" in body and world.ent_x.name in body


def test_the_workbench_lists_the_enterprises_to_tell_until_a_visit_explains_it(client, login_as, world, setup, db):
    today = setup["today"]
    policy = _policy(today, -5, 30, title="科技创新券")
    _policy(today, 3, 30, title="未开放政策")
    db.session.commit()
    login_as(setup["officer1"])
    page = text(client.get("/workbench"))  # the card loads after the page (htmx), from its own address
    assert 'hx-get="/workbench/policies"' in page and "科技创新券" not in page
    panel = text(client.get("/workbench/policies")).split('id="wb-policies"')[1].split("</section>")[0]
    assert "科技创新券" in panel and world.ent_x.name in panel and world.ent_park.name in panel
    assert "未开放政策" not in panel and "无人包保科技有限公司" not in panel
    service_services.record_visit(world.ent_x, {"visited_on": today, "mode": "onsite", "summary": "宣讲",
                                                "policy_ids": [policy.id]}, actor=setup["officer1"])
    db.session.commit()
    panel = text(client.get("/workbench/policies")).split('id="wb-policies"')[1].split("</section>")[0]
    assert world.ent_x.name not in panel and world.ent_park.name in panel


def test_the_workbench_names_the_first_eight_and_counts_the_rest(client, login_as, world, setup, db):
    today = setup["today"]
    officer = setup["officer1"]
    for i in range(11):
        e = factories.enterprise(world.county_x, name=f"宣讲对象{i:02d}有限公司")
        factories.figures(e, today.year - 1, employees=100, tech_staff=30)
        factories.assignment(e, officer)
    policy = _policy(today, -5, 30, title="科技创新券")
    services.set_push(policy, world.ent_park, "informed", actor="test")
    db.session.commit()
    login_as(officer)
    panel = text(client.get("/workbench/policies")).split('id="wb-policies"')[1].split("</section>")[0]
    # ent_x and the eleven qualify and were not told: 12, the first 8 by name shown
    assert '<span class="badge text-bg-secondary">12</span>' in panel
    assert world.ent_x.name in panel  # 兴 (U+5174) sorts before 宣 (U+5BA3)
    assert [f"宣讲对象{i:02d}有限公司" in panel for i in range(11)] == [True] * 7 + [False] * 4
    assert "4" in panel.split("宣讲对象06有限公司")[1] and f"/policies/{policy.id}" in panel


def test_the_enterprise_card_shows_the_push_and_the_buttons_to_those_who_may_record(client, login_as, world,
                                                                                     setup, db):
    today = setup["today"]
    eligible = _policy(today, -5, 30, title="科技创新券")
    maybe = factories.policy("科技贷", conditions={"min_revenue": "1000", "min_rd_ratio": "3"})
    factories.policy("小巨人奖励", conditions={"tiers_held": ["little_giant"]})  # not eligible: not listed
    services.set_push(eligible, world.ent_x, "informed", actor="test")
    db.session.commit()
    world.ent_x.figures[0].revenue = None  # the revenue is unknown: 科技贷 might be
    db.session.commit()
    login_as(setup["officer1"])
    assert 'id="policies"' in client.get(f"/enterprises/{world.ent_x.id}").get_data(as_text=True)
    card = client.get(f"/policies/enterprises/{world.ent_x.id}").get_data(as_text=True)
    assert f'data-policy="{eligible.id}" data-verdict="ready"' in card
    assert f'data-policy="{maybe.id}" data-verdict="incomplete"' in card and "1000" in text(
        client.get(f"/policies/enterprises/{world.ent_x.id}"))
    assert "小巨人奖励" not in card
    assert card.count("push-form") == 1  # a button for the eligible one only
    response = client.post(f"/policies/{eligible.id}/enterprises/{world.ent_x.id}/push",
                           data={"status": "applied", "next": f"/enterprises/{world.ent_x.id}#policies"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/enterprises/{world.ent_x.id}#policies")
    from crm.core.db import utcnow

    world.ent_x.archived_at = utcnow()  # an archived enterprise is read, never recorded for
    db.session.commit()
    card = client.get(f"/policies/enterprises/{world.ent_x.id}").get_data(as_text=True)
    assert "科技创新券" in card and "push-form" not in card


def test_the_portal_lists_our_policies_with_windows_and_what_is_missing(client, login_as, world, setup, db):
    today = setup["today"]
    open_now = _policy(today, -5, 30, title="科技创新券", benefit="按合同额50%补助")
    _policy(today, -60, -1, title="已截止政策")
    factories.policy("科技贷", conditions={"min_rd_ratio": "3", "clean_record": True})
    factories.policy("小巨人奖励", conditions={"tiers_held": ["little_giant"]})
    services.set_push(open_now, world.ent_x, "informed", actor="test")
    services.set_push(open_now, world.ent_x, "applied", actor="test")
    services.set_push(open_now, world.ent_x, "granted", actor="test", amount=Decimal("8"))
    db.session.commit()
    login_as("enterprise", enterprise=world.ent_x)
    page = client.get("/portal/policies")
    body = text(page)
    assert page.status_code == 200
    assert "科技创新券" in body and "按合同额50%补助" in body and "8.00" in body
    assert "已截止政策" not in body and "小巨人奖励" not in body
    card = body.split("科技贷")[1]
    assert 'data-verdict="incomplete"' in body.split("科技贷")[0].rsplit("<section", 1)[1]
    assert "无严重失信" in card or "breach of trust" in card  # the flag the bureau does not know yet
