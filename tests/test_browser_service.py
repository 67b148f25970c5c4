"""An officer's day in a real browser on a phone-sized screen: workbench, log a visit with a need and a
follow-up, see them on the workbench and the timeline, close the need; then the same pages in English.
"""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from crm.core import clock
from crm.service import services
from crm.service.models import FollowUp, Need, Visit
from tests import factories
from tests.test_browser import browser_context_args, browser_type_launch_args, live_server  # noqa: F401

pytestmark = pytest.mark.browser


def test_officers_day_on_a_phone(page: Page, live_server, world, db):  # noqa: F811
    manager = factories.user("manager", region=world.city, name="王经理")
    officer = factories.user("officer", region=world.county_x, username="lixm", name="李晓梅")
    services.assign_enterprise(world.ent_x, officer, actor=manager)
    factories.policy("研发费用加计扣除")
    factories.department("税务局")
    db.session.commit()

    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(officer.username)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    # an officer lands on the workbench
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    expect(page.locator("#wb-stale")).to_contain_text("兴庆智能装备有限公司")  # never visited

    page.locator("#log-visit").click()
    expect(page.get_by_role("heading", name="记录走访")).to_be_visible()
    page.locator("#enterprise_id").select_option(label="兴庆智能装备有限公司")
    assert page.get_by_label("日期", exact=True).input_value() == clock.today().isoformat()  # today by default
    page.locator("label", has_text=re.compile("^电话$")).click()
    page.get_by_label("接待人员").fill("张总（总经理）")
    page.get_by_label("走访情况").fill("电话了解一季度研发投入，宣讲研发费用加计扣除政策。")
    page.get_by_label("研发费用加计扣除").check()
    page.locator("#needs-0-category").select_option(label="资金/金融")
    page.locator("#needs-0-title").fill("申请科技贷款500万元")
    page.get_by_label("跟进日期").fill(clock.today().isoformat())
    page.get_by_label("跟进事项").fill("回访贷款申请材料")
    page.get_by_role("button", name="保存走访").click()

    expect(page.get_by_text("已记录对兴庆智能装备有限公司的走访。")).to_be_visible()
    expect(page.get_by_role("link", name="申请科技贷款500万元")).to_be_visible()
    visit = db.session.scalar(select(Visit))
    assert visit.mode == "phone" and [p.title for p in visit.policies] == ["研发费用加计扣除"]

    # the workbench shows the follow-up due today and the new open need
    page.get_by_role("button", name="菜单").click()  # the phone's collapsed navigation
    page.get_by_role("link", name="工作台").click()
    expect(page.locator("#wb-follow-ups")).to_contain_text("回访贷款申请材料")
    expect(page.locator("#wb-needs")).to_contain_text("申请科技贷款500万元")
    expect(page.locator("#wb-stale")).not_to_contain_text("兴庆智能装备有限公司")

    # close the need with a resolution and the enterprise's satisfaction
    page.locator("#wb-needs").get_by_role("link", name="申请科技贷款500万元").click()
    page.get_by_label("新状态").select_option(label="已解决")
    page.get_by_role("button", name="保存状态").click()
    expect(page.get_by_text("办结前请填写办理结果。")).to_be_visible()  # refused: nothing saved
    page.get_by_label("新状态").select_option(label="已解决")
    page.get_by_label("办理结果").fill("已对接宁夏银行，获批科技贷款300万元。")
    page.get_by_label("企业满意度").select_option("5")
    page.get_by_role("button", name="保存状态").click()
    expect(page.locator("#need-status")).to_have_text("已解决")
    expect(page.locator("#need-history")).to_contain_text("新提出 → 已解决")
    need = db.session.scalar(select(Need))
    assert (need.status, need.satisfaction) == ("resolved", 5)

    # mark the follow-up done from the workbench
    page.goto(f"{live_server}/workbench")
    card = page.locator("#wb-follow-ups")
    card.get_by_placeholder("结果（选填）").fill("材料已齐")
    card.get_by_role("button", name="标记完成").click()
    expect(page.get_by_text("已完成：回访贷款申请材料")).to_be_visible()
    # (resolving the need planned its call-back, a second follow-up: read the one marked done)
    assert db.session.scalar(select(FollowUp.done_note).where(FollowUp.action == "回访贷款申请材料")) == "材料已齐"

    # the timeline tells the story
    page.goto(f"{live_server}/enterprises/{world.ent_x.id}/timeline")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("李晓梅 走访")
    expect(timeline).to_contain_text("提出需求")
    expect(timeline).to_contain_text("跟进完成：回访贷款申请材料")
    page.get_by_role("link", name="需求", exact=True).last.click()
    expect(page.locator("#timeline li[data-kind='visit']")).to_have_count(0)

    # the same workbench in English
    page.goto(f"{live_server}/workbench")
    page.get_by_role("button", name="菜单").click()
    page.locator("#lang-select").select_option("en")
    expect(page.get_by_role("heading", name="Workbench")).to_be_visible()
    expect(page.locator("#log-visit")).to_have_text("Log a visit")


def test_manager_reads_the_needs_board_on_a_desktop(browser, live_server, world, db):  # noqa: F811
    manager = factories.user("manager", region=world.city, username="wangjl", name="王经理")
    officer = factories.user("officer", region=world.county_x, name="李晓梅")
    factories.need(world.ent_x, owner=officer, category="talent", title="引进高层次人才",
                   raised_on=clock.today() - timedelta(days=40), due_on=clock.today() - timedelta(days=10))
    factories.need(world.ent_y, owner=officer, category="finance", title="申请创新券")
    db.session.commit()
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(manager.username)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server}/needs")
    expect(page.locator("#needs-list")).to_contain_text("引进高层次人才")
    page.get_by_label("仅看逾期").check()  # htmx swaps the results
    expect(page.locator("#needs-list")).not_to_contain_text("申请创新券")
    expect(page.locator("#needs-list")).to_contain_text("逾期")
    assert "overdue=1" in page.url
    context.close()


def test_the_bell_leads_to_the_inbox_and_reading_clears_it(browser, live_server, world, db):  # noqa: F811
    officer = factories.user("officer", region=world.county_x, username="lixm2", name="李晓梅")
    need = factories.need(world.ent_x, owner=officer, title="申请科技贷款")
    factories.notification(officer, params={"title": "申请科技贷款", "enterprise": world.ent_x.name,
                                            "due_on": "2026-11-01"}, link=f"/needs/{need.id}")
    factories.notification(officer, kind="follow_up_digest",
                           params={"overdue": 1, "today": 0, "tomorrow": 2, "actions": ["回访"]}, link="/workbench")
    db.session.commit()
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(officer.username)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#bell-count")).to_have_text("2")
    page.locator("#bell").click()
    expect(page.get_by_role("heading", name=re.compile("通知"))).to_be_visible()
    page.get_by_role("button", name=re.compile("需求已超过办理期限")).click()
    expect(page.get_by_role("heading", name="申请科技贷款")).to_be_visible()  # the need it is about
    expect(page.locator("#bell-count")).to_have_text("1")
    context.close()
