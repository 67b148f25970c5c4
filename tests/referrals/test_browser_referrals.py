"""The department path in a real browser: an officer refers a need, the department's contact signs in, sees only
that need and answers it; the officer resolves it; the call-back says not satisfied and the need reopens."""
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from crm.referrals.models import NeedCallback, Referral
from tests import factories
from tests.helpers import open_login_signed_out
from tests.test_browser import browser_context_args, browser_type_launch_args, live_server  # noqa: F401

pytestmark = pytest.mark.browser


def _sign_in(page: Page, live_server, user):  # noqa: F811
    open_login_signed_out(page, live_server)
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_referral_answered_resolved_and_reopened_by_the_call_back(page: Page, live_server, world, db):  # noqa: F811
    from crm.demo.calendar import load_calendar

    load_calendar(db.session)
    officer = factories.user("officer", region=world.county_x, username="lixm", name="李晓梅", serves=[world.ent_x],
                             locale="en")
    tax, hr = factories.department("区税务局"), factories.department("区人社局")
    contact = factories.user("department", username="dept_tax", name="刘税政", department_id=tax.id, locale="en")
    need = factories.need(world.ent_x, owner=officer, title="研发费用加计扣除申报辅导", status="in_progress",
                          description="首次申报，需要税务部门辅导")
    other = factories.need(world.ent_x, owner=officer, title="招聘研发人员", category="talent",
                           status="referred", department_id=hr.id)
    factories.referral(other, referred_by=officer)
    db.session.commit()

    # the officer refers the need to the tax office
    _sign_in(page, live_server, officer)
    page.goto(f"{live_server}/needs/{need.id}")
    page.get_by_label("New status").select_option(label="Referred")
    page.get_by_label("Resolution").fill("请协助辅导加计扣除申报")
    page.get_by_label("Referred to").select_option(label="区税务局")
    page.get_by_role("button", name="Save status").click()
    expect(page.locator("#need-status")).to_have_text("Referred")
    expect(page.locator("#need-referrals")).to_contain_text("区税务局")

    # the department's contact sees that need only, with what they need to act, and answers it
    _sign_in(page, live_server, contact)
    expect(page.locator("#referrals")).to_contain_text("研发费用加计扣除申报辅导")
    expect(page.locator("#referrals")).not_to_contain_text("招聘研发人员")
    page.get_by_role("link", name="研发费用加计扣除申报辅导").click()
    expect(page.locator("#referral-title")).to_have_text("研发费用加计扣除申报辅导")
    expect(page.get_by_text("首次申报，需要税务部门辅导")).to_be_visible()
    expect(page.locator("#referral-history")).to_contain_text("Referred")
    page.locator("#answer-form").get_by_label("Answer").fill("已安排专管员上门辅导，企业已完成备案。")
    page.get_by_role("button", name="Send the answer").click()
    expect(page.locator("#referral-status")).to_have_text("Answered")
    page.goto(f"{live_server}/needs/{need.id}")
    expect(page.locator("h1")).to_have_text("403")  # nothing of the bureau's pages

    # the officer reads the answer and resolves the need
    _sign_in(page, live_server, officer)
    page.goto(f"{live_server}/needs/{need.id}")
    expect(page.locator("#need-referrals")).to_contain_text("已安排专管员上门辅导")
    page.get_by_label("New status").select_option(label="Resolved")
    page.get_by_label("Resolution", exact=True).fill("税务部门已辅导，企业完成备案")
    page.get_by_role("button", name="Save status").click()
    expect(page.locator("#need-status")).to_have_text("Resolved")

    # the call-back: not satisfied, with the reason; the need is reopened
    form = page.locator("#callback-form")
    form.get_by_label("Not satisfied").check()
    form.get_by_label("Satisfaction (1–5)").select_option("2")
    form.get_by_label("Note").fill("优惠尚未到账，企业要求继续跟进")
    form.get_by_role("button", name="Record the call-back").click()
    expect(page.locator("#need-status")).to_have_text("In progress")
    expect(page.locator("#need-history")).to_contain_text("优惠尚未到账")

    referral = db.session.scalar(select(Referral).where(Referral.need_id == need.id))
    assert referral.status == "answered" and referral.closed_at is not None
    callback = db.session.scalar(select(NeedCallback))
    assert (callback.satisfied, callback.satisfaction) == (False, 2)
