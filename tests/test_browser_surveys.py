"""A survey campaign in a real browser, the whole path of issue 12: a manager drafts and launches it; an officer
fills it during a visit on a phone-sized screen; the need its answer raised is referred to a department, which
answers; the officer closes it; the call-back finds the enterprise not satisfied and reopens it; the manager's
results count the answer and link to the need."""
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from crm.core import clock
from crm.service.models import Need
from crm.surveys.models import SurveyCampaign, SurveyResponse
from tests import factories
from tests.helpers import open_login_signed_out
from tests.surveys.conftest import make_bank
from tests.test_browser import browser_context_args, browser_type_launch_args, live_server  # noqa: F401

pytestmark = pytest.mark.browser


def _sign_in(page: Page, live_server, user):  # noqa: F811
    open_login_signed_out(page, live_server)
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_manager_launches_officer_fills_during_a_visit(page: Page, live_server, world, db):  # noqa: F811
    manager = factories.user("manager", region=world.city, username="wangjl", name="王经理", locale="en")
    officer = factories.user("officer", region=world.county_x, username="lixm", name="李晓梅", serves=[world.ent_x],
                             locale="en")
    barrier, wants, spend, advice = make_bank(region_id=world.city.id)
    visit = factories.visit(world.ent_x, officer)
    finance = factories.department("区金融工作局")
    contact = factories.user("department", username="dept_fin", name="赵金融", department_id=finance.id, locale="en")
    from crm.demo.calendar import load_calendar

    load_calendar(db.session)  # referral deadlines count working days
    db.session.commit()
    page.on("dialog", lambda dialog: dialog.accept())

    _sign_in(page, live_server, manager)
    page.goto(f"{live_server}/surveys/new")
    page.get_by_label("Title").fill("2026年企业需求摸排")
    page.get_by_label("Region", exact=True).select_option(value=str(world.city.id))
    today = clock.today()
    page.get_by_label("Opens on").fill(today.isoformat())
    page.get_by_label("Closes on").fill((today + timedelta(days=30)).isoformat())
    page.get_by_label("Enterprises of region").select_option(value=str(world.county_x.id))
    page.get_by_label("Order · 最主要障碍").fill("1")
    page.get_by_label("Order · 研发投入").fill("2")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#preview")).to_contain_text("2")
    page.get_by_role("button", name="Launch").click()
    expect(page.get_by_text("Campaign launched for 2 enterprises.")).to_be_visible()
    campaign = db.session.scalar(select(SurveyCampaign))
    assert campaign.is_launched and [cq.question_id for cq in campaign.questions] == [barrier.id, spend.id]

    page.set_viewport_size({"width": 390, "height": 844})  # the officer is on a phone
    _sign_in(page, live_server, officer)
    page.goto(f"{live_server}/visits/{visit.id}")
    page.get_by_role("link", name="Fill the campaign questionnaire: 2026年企业需求摸排").click()
    expect(page.get_by_role("heading", name="2026年企业需求摸排")).to_be_visible()
    page.get_by_label("融资难").check()
    page.get_by_label("研发投入").fill("many")
    page.get_by_role("button", name="Save the questionnaire").click()
    expect(page.get_by_text("Enter a number.")).to_be_visible()  # refused, nothing saved
    assert db.session.scalar(select(SurveyResponse)) is None
    expect(page.get_by_label("融资难")).to_be_checked()  # the answers stay on the page
    page.get_by_label("研发投入").fill("120")
    page.get_by_role("button", name="Save the questionnaire").click()

    expect(page.get_by_text("Questionnaire saved.")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/visits/{visit.id}")
    expect(page.get_by_role("link", name="融资需求")).to_be_visible()  # the need the answer raised, on the visit
    need = db.session.scalar(select(Need))
    assert (need.category, need.visit_id, need.owner_id, need.status) == ("finance", visit.id, officer.id, "open")
    response = db.session.scalar(select(SurveyResponse))
    assert response.visit_id == visit.id

    # the officer refers the need to the department that can help
    page.get_by_role("link", name="融资需求").click()
    page.get_by_label("New status").select_option(label="Referred")
    page.get_by_label("Resolution").fill("请协助对接科技贷款")
    page.get_by_label("Referred to").select_option(label="区金融工作局")
    page.get_by_role("button", name="Save status").click()
    expect(page.locator("#need-status")).to_have_text("Referred")

    # the department's contact sees it and answers
    _sign_in(page, live_server, contact)
    page.get_by_role("link", name="融资需求").click()
    page.locator("#answer-form").get_by_label("Answer").fill("已推荐两家合作银行，企业已提交贷款申请。")
    page.get_by_role("button", name="Send the answer").click()
    expect(page.locator("#referral-status")).to_have_text("Answered")

    # the officer reads the answer and closes the need; the call-back finds the enterprise not satisfied
    _sign_in(page, live_server, officer)
    page.goto(f"{live_server}/needs/{need.id}")
    expect(page.locator("#need-referrals")).to_contain_text("已推荐两家合作银行")
    page.get_by_label("New status").select_option(label="Resolved")
    page.get_by_label("Resolution", exact=True).fill("金融局已对接银行，企业已申请贷款")
    page.get_by_role("button", name="Save status").click()
    expect(page.locator("#need-status")).to_have_text("Resolved")
    form = page.locator("#callback-form")
    form.get_by_label("Not satisfied").check()
    form.get_by_label("Satisfaction (1–5)").select_option("2")
    form.get_by_label("Note").fill("贷款仍未获批，企业希望继续协调")
    form.get_by_role("button", name="Record the call-back").click()
    expect(page.locator("#need-status")).to_have_text("In progress")
    db.session.refresh(need)
    assert need.status == "in_progress"

    # the manager's results count it and link to the need
    _sign_in(page, live_server, manager)
    page.goto(f"{live_server}/surveys/{campaign.id}/results")
    page.locator(f"#q{barrier.id}").get_by_role("link", name="Needs raised").click()
    expect(page.locator("#sum-enterprises")).to_have_text("1")
    expect(page.locator("#raised-needs")).to_contain_text("融资需求")
