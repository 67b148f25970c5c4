"""A manager opens a policy: 10 enterprises eligible, 4 informed; drills into the 6 not informed (on the policy
and in the rates). An officer sees theirs on the workbench, logs a visit explaining the policy, the rate moves."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from crm.core import clock
from crm.policies import services as policy_services
from crm.service import services
from tests import factories
from tests.test_browser import browser_context_args, browser_type_launch_args, live_server  # noqa: F401

pytestmark = pytest.mark.browser


def _sign_in(page, live_server, user):  # noqa: F811
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_manager_finds_the_not_informed_and_an_officer_tells_one(browser, live_server, world, db):  # noqa: F811
    today = clock.today()
    manager = factories.user("manager", region=world.city, username="wangjl", name="王经理")
    officer = factories.user("officer", region=world.county_x, username="lixm", name="李晓梅")
    services.assign_enterprise(world.ent_x, officer, actor=manager)
    extra = [factories.enterprise(world.county_x if n % 2 else world.county_y, name=f"银川{n}号科技有限公司")
             for n in range(7)]
    policy = factories.policy("科技创新券", opens_on=today - timedelta(days=3), closes_on=today + timedelta(days=30))
    db.session.commit()
    for e in extra[:4]:
        policy_services.set_push(policy, e, "informed", actor=manager)
    db.session.commit()

    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, live_server, manager)
    page.goto(f"{live_server}/policies")
    page.get_by_role("link", name="科技创新券").click()
    expect(page.locator('[data-count="eligible"]')).to_have_text("10")  # the city's ten operating enterprises
    expect(page.locator('[data-count="informed"]')).to_have_text("4")
    expect(page.locator("#push-list tbody tr")).to_have_count(6)  # the not-informed tab opens first
    expect(page.locator("#push-list")).to_contain_text("兴庆智能装备有限公司")
    expect(page.locator("#push-list")).not_to_contain_text("银川0号科技有限公司")

    # the same in the rates, drilled down from the number
    page.goto(f"{live_server}/policies/rates")
    row = page.locator(f'#rates tr[data-key="{policy.id}"]')
    expect(row.locator('[data-rate="awareness"]')).to_have_text("40%")
    row.locator('[data-measure="not_informed"]').click()
    expect(page.locator("#drill-total")).to_have_text("6")
    expect(page.locator("#drill")).to_contain_text("兴庆智能装备有限公司")
    context.close()

    # the officer sees theirs on the workbench and explains the policy on a visit
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, live_server, officer)
    panel = page.locator("#wb-policies")
    expect(panel).to_contain_text("科技创新券")
    panel.get_by_role("link", name="兴庆智能装备有限公司").click()
    page.get_by_label("走访情况").fill("上门宣讲科技创新券。")
    page.get_by_label("科技创新券").check()
    page.get_by_role("button", name="保存走访").click()
    expect(page.get_by_text("已记录对兴庆智能装备有限公司的走访。")).to_be_visible()
    page.goto(f"{live_server}/workbench")
    expect(page.locator("#wb-policies")).not_to_contain_text("兴庆智能装备有限公司")
    context.close()

    # the manager's rate has moved
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, live_server, manager)
    page.goto(f"{live_server}/policies/{policy.id}")
    expect(page.locator('[data-count="informed"]')).to_have_text("5")
    page.goto(f"{live_server}/policies/rates")
    expect(page.locator(f'#rates tr[data-key="{policy.id}"] [data-rate="awareness"]')).to_have_text("50%")
    context.close()
