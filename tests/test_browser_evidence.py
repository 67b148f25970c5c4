"""Evidence in a real browser on a phone-sized screen: an officer opens a planned visit, is warned that another
officer visited the enterprise last week, checks in (the browser gives the position), records the visit with a
photo, and finds the check-in, the photo and the plan fulfilled on the visit's page.
"""
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from crm.core import clock
from crm.evidence import services
from crm.evidence.models import Attachment, CheckIn, VisitPlan
from crm.service import services as service_services
from crm.service.models import Visit
from tests import factories
from tests.evidence.conftest import png_bytes
from tests.test_browser import browser_context_args, browser_type_launch_args, live_server  # noqa: F401

pytestmark = pytest.mark.browser


def test_planned_visit_with_check_in_photo_and_the_14_day_warning(page: Page, live_server, world, db):  # noqa: F811
    manager = factories.user("manager", region=world.city, name="王经理")
    officer = factories.user("officer", region=world.county_x, username="lixm", name="李晓梅")
    colleague = factories.user("officer", region=world.county_x, name="孙建国")
    service_services.assign_enterprise(world.ent_x, officer, actor=manager)
    service_services.assign_enterprise(world.ent_park, officer, actor=manager)
    today = clock.today()
    factories.visit(world.ent_x, colleague, visited_on=today - timedelta(days=3))
    plan = services.plan_visit(world.ent_x, {"month": today.replace(day=1), "planned_on": today,
                                             "purpose": "高企申报辅导"}, actor=officer)
    db.session.commit()
    page.context.grant_permissions(["geolocation"], origin=live_server)
    page.context.set_geolocation({"latitude": 38.487193, "longitude": 106.230909, "accuracy": 18})

    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(officer.username)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#wb-plan")).to_be_visible()

    # the month's plan, then the planned visit: it warns of the colleague's visit three days ago
    page.goto(f"{live_server}/visit-plans")
    page.get_by_role("link", name="兴庆智能装备有限公司").click()
    expect(page.locator("#recent-visit-warning")).to_contain_text("孙建国")
    expect(page.get_by_text("高企申报辅导")).to_be_visible()

    # check in on arrival: the server keeps the time, the browser gives the position
    page.locator("#check-in").click()
    expect(page.locator("#checked-in")).to_be_visible()
    expect(page.locator("#recent-visit-warning")).to_contain_text("孙建国")
    item = db.session.scalar(select(CheckIn))
    assert item is not None and item.plan_id == plan.id and item.visit_id is None
    assert float(item.latitude) == pytest.approx(38.487193) and item.accuracy_m == 18

    # choosing another enterprise (htmx) clears the warning; choosing this one again shows it
    page.locator("#enterprise_id").select_option(label="园区新材料有限公司")
    expect(page.locator("#recent-visit-warning")).to_have_count(0)
    page.locator("#enterprise_id").select_option(label="兴庆智能装备有限公司")
    expect(page.locator("#recent-visit-warning")).to_contain_text("孙建国")

    page.get_by_label("接待人员").fill("张总（总经理）")
    page.get_by_label("走访情况").fill("现场查看研发中心，辅导高企申报材料。")
    page.locator("#visit-files").set_input_files(files=[{"name": "研发中心.png", "mimeType": "image/png",
                                                         "buffer": png_bytes(40, 30)}])
    page.get_by_role("button", name="保存走访").click()

    # the visit's page: the warning as a note, the check-in with its position, the photo, the plan fulfilled
    expect(page.locator(".alert-warning")).to_contain_text("孙建国")
    expect(page.locator("#visit-check-in")).to_contain_text("38.48719")
    photo = page.locator("#attachments img.attachment-thumb")
    expect(photo).to_have_count(1)
    expect(page.locator("#attachments")).to_contain_text("研发中心.png")
    # the thumbnail decoded (a property polled by Playwright: a string predicate polled later is an eval, which
    # the pages' CSP refuses, so it failed whenever the image was not loaded yet)
    expect(photo).to_have_js_property("naturalWidth", 40)

    db.session.expire_all()
    visit = db.session.scalars(select(Visit).where(Visit.officer_id == officer.id)).one()
    assert db.session.get(CheckIn, item.id).visit_id == visit.id
    assert db.session.get(VisitPlan, plan.id).visit_id == visit.id
    [attachment] = db.session.scalars(select(Attachment)).all()
    assert (attachment.parent_type, attachment.parent_id, attachment.mime) == ("visit", visit.id, "image/png")

    # the plan shows it done
    page.goto(f"{live_server}/visit-plans")
    expect(page.locator(".plan-row[data-state=done]")).to_contain_text("兴庆智能装备有限公司")
