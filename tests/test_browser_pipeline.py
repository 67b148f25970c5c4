"""A manager's question in a real browser: are we on track, where, and whom to push? A red target, the
enterprises behind it, and the indicator table exported."""
import re
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from crm.core import clock
from crm.pipeline.models import Target
from tests import factories
from tests.test_browser import browser_context_args, browser_type_launch_args, live_server  # noqa: F401

pytestmark = pytest.mark.browser


def test_manager_reads_a_red_target_drills_down_and_exports(browser, live_server, world, db, tmp_path):  # noqa: F811
    today = clock.today()
    manager = factories.user("manager", region=world.city, username="wangjg", name="王建国")
    # county X: one tech SME gained this year against a target of 40 → red; county Y on pace
    factories.certification(world.ent_x, "tech_sme", issued_on=date(today.year, 1, 1))
    factories.certification(world.ent_y, "tech_sme", issued_on=date(today.year, 1, 1))
    db.session.add_all([
        Target(year=today.year, region_id=world.county_x.id, metric="new_certs", tier="tech_sme", value=Decimal(40)),
        Target(year=today.year, region_id=world.county_y.id, metric="new_certs", tier="tech_sme", value=Decimal(1)),
    ])
    db.session.commit()
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(manager.username)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("button", name="培育进度").or_(page.get_by_role("link", name="培育进度")).first.click()
    page.get_by_role("link", name="总览").click()
    expect(page.get_by_role("heading", name=re.compile("培育进度"))).to_be_visible()
    # ECharts drew, under the CSP (a generous wait: a loaded CI machine parses its 650 KB slowly)
    expect(page.locator("#funnel-chart canvas")).to_have_count(1, timeout=20_000)

    page.get_by_role("link", name="年度目标").first.click()
    row = page.locator("tr[data-metric='new_certs-tech_sme']")
    county_x, county_y = row.locator("td").nth(2), row.locator("td").nth(3)  # after the label and the city
    expect(county_x.locator(".light-red")).to_have_count(1)
    expect(county_y.locator(".light-green")).to_have_count(1)
    title = county_x.locator(".light-red").get_attribute("title")
    assert re.fullmatch(r"目标 40，已完成 1，按进度应完成 [\d.,]+", title), title
    # the enterprises behind county X's number: the candidate pool for the tier in county X
    row.locator("td").nth(2).get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/candidates\?tier=tech_sme&region=\d+"))

    page.goto(f"{live_server}/pipeline/indicators?region={world.city.id}")
    with page.expect_download() as download:
        page.locator("#indicators-export").click()
    path = tmp_path / "indicators.xlsx"
    download.value.save_as(path)
    sheet = load_workbook(path).active
    assert sheet.cell(row=1, column=1).value == "指标"
    assert sheet.max_row == 12  # the header and the eleven indicators
    context.close()
