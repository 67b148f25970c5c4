"""Tags, saved views and events in a real browser on a phone: an officer tags an enterprise, filters the registry
by the tag, saves the view and reopens it in one tap; a manager records an event's attendance and the policy
presented counts one more enterprise informed."""
import re

import pytest
from playwright.sync_api import Page, expect

from crm.events import services as event_services
from crm.tags.models import Tag
from tests import factories
from tests.test_browser import browser_context_args, browser_type_launch_args, live_server  # noqa: F401

pytestmark = pytest.mark.browser


def _sign_in(page: Page, live_server, user):  # noqa: F811
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_officer_tags_filters_and_saves_a_view(page: Page, live_server, world, db):  # noqa: F811
    officer = factories.user("officer", region=world.county_x, username="lixm", name="李晓梅", serves=[world.ent_x],
                             locale="en")
    tag = Tag(name="重点关注", region_id=world.county_x.id, kind="manual")
    db.session.add(tag)
    db.session.commit()

    _sign_in(page, live_server, officer)
    page.goto(f"{live_server}/enterprises/{world.ent_x.id}")
    page.locator("#add-tag").select_option(label="重点关注")
    page.get_by_role("button", name="Add tag").click()
    expect(page.locator('#tags [data-tag="重点关注"]')).to_be_visible()

    page.goto(f"{live_server}/enterprises")
    expect(page.locator("#results")).to_contain_text(world.ent_park.name)
    if page.locator("#tag").is_hidden():  # the phone folds the less used filters away
        page.get_by_role("button", name="More filters").click()
    page.locator("#tag").select_option(label="重点关注")
    expect(page).to_have_url(re.compile(rf"tag={tag.id}"))
    expect(page.locator("#results")).to_contain_text(world.ent_x.name)
    expect(page.locator("#results")).not_to_contain_text(world.ent_park.name)

    page.get_by_label("Name of the view").fill("My key enterprises")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_text("View “My key enterprises” saved.")).to_be_visible()

    page.goto(f"{live_server}/enterprises")  # all of them again
    expect(page.locator("#results")).to_contain_text(world.ent_park.name)
    page.locator("#saved-views").get_by_role("link", name="My key enterprises").click()
    expect(page).to_have_url(re.compile(rf"/enterprises\?tag={tag.id}(&sort=name)?$"))
    expect(page.locator("#results")).to_contain_text(world.ent_x.name)
    expect(page.locator("#results")).not_to_contain_text(world.ent_park.name)


def test_manager_records_attendance_and_the_policy_counts_it(page: Page, live_server, world, db):  # noqa: F811
    from datetime import date

    manager = factories.user("manager", region=world.city, username="wangjl", name="王经理", locale="en")
    policy = factories.policy("研发费用加计扣除")
    event = event_services.create_event({"kind": "briefing", "topic": "科技政策宣讲会", "held_on": date(2025, 4, 18),
                                         "place": "", "region_id": world.city.id}, [policy], actor=manager)
    for enterprise in (world.ent_x, world.ent_y):
        event_services.sign_up(event, enterprise, actor=manager)
    db.session.commit()

    _sign_in(page, live_server, manager)
    page.goto(f"{live_server}/policies/{policy.id}")
    expect(page.locator('[data-count="informed"]')).to_have_text("0")

    page.goto(f"{live_server}/events/{event.id}")
    page.get_by_label(f"{world.ent_x.name} attended").check()
    page.get_by_role("button", name="Save attendance").click()
    expect(page.get_by_text("Attendance saved: 1 newly present, 1 policy notices recorded.")).to_be_visible()
    expect(page.get_by_label(f"{world.ent_x.name} attended")).to_be_checked()
    expect(page.get_by_label(f"{world.ent_y.name} attended")).not_to_be_checked()

    page.get_by_role("link", name="研发费用加计扣除").click()
    expect(page.locator('[data-count="informed"]')).to_have_text("1")
