"""The enterprise portal in a real browser: a contact signs in on a phone, reads its readiness, sends a
request and submits figures; its officer accepts them (changes highlighted); the readiness changes.

The contact and the officer use English (their saved language), so the test reads the same before and
after the new messages get their Chinese translations.
"""
import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from crm.portal.models import Submission
from crm.service.models import Need
from tests import factories
from tests.ladder.test_readiness_panel import Y, near_high_tech
from tests.test_browser import browser_context_args, browser_type_launch_args, live_server  # noqa: F401

pytestmark = pytest.mark.browser


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(factories.PASSWORD)
    page.locator("button[type=submit]").click()


def test_a_contact_on_a_phone_and_the_officer_who_accepts(page: Page, live_server, world, db):  # noqa: F811
    officer = factories.user("officer", region=world.county_x, username="lixm", name="Li Xiaomei",
                             phone="13895010606", serves=[world.ent_x], locale="en")
    factories.user("enterprise", enterprise=world.ent_x, username="zhang", name="Zhang", locale="en")
    near_high_tech(world.ent_x)
    db.session.commit()

    _sign_in(page, live_server, "zhang")
    expect(page).to_have_url(re.compile(r"/portal$"))
    expect(page.get_by_role("heading", name=world.ent_x.name)).to_be_visible()
    expect(page.locator("#officer")).to_contain_text("Li Xiaomei")
    expect(page.locator("#next-steps")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # no sideways scrolling

    # readiness for the national high-tech tier: R&D is short
    page.goto(f"{live_server}/portal/readiness?tier=high_tech")
    expect(page.locator("[data-verdict]")).to_have_attribute("data-verdict", "not_ready")
    expect(page.locator(".criterion-gap").first).to_be_visible()
    expect(page.locator("#whatif")).to_have_count(0)

    # a request for the officer
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Our requests").click()
    page.get_by_role("link", name="Send a request").first.click()
    page.get_by_label("Category").select_option(label="Funding & finance")
    page.get_by_label("Your request in a few words").fill("Loan for new test equipment")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Your request has been sent to your service officer.")).to_be_visible()
    expect(page.locator("#need-status")).to_have_text("Open")
    assert db.session.scalar(select(Need.owner_id)) == officer.id

    # this year's figures, with 150 (10k CNY) more R&D
    page.goto(f"{live_server}/portal/figures/new?year={Y}")
    page.get_by_label("R&D expense", exact=True).fill("250")
    page.get_by_label("Domestic R&D expense").fill("250")
    page.get_by_role("button", name="Send for review").click()
    expect(page.locator("#submission-status")).to_have_text("Waiting for review")
    page.goto(f"{live_server}/portal/readiness?tier=high_tech")
    expect(page.locator("[data-verdict]")).to_have_attribute("data-verdict", "not_ready")  # not counted yet

    # the officer accepts it from the review list
    officer_page = page.context.browser.new_page()
    _sign_in(officer_page, live_server, "lixm")
    expect(officer_page.locator("#wb-submissions")).to_contain_text("1")
    officer_page.locator("#wb-submissions").click()
    officer_page.locator("#submission-queue a").first.click()
    expect(officer_page.locator("tr.diff-changed[data-field=rd_expense]")).to_be_visible()
    expect(officer_page.locator("tr.diff-changed[data-field=revenue]")).to_have_count(0)
    officer_page.get_by_role("button", name="Accept").click()
    expect(officer_page.get_by_text(re.compile("now counts"))).to_be_visible()
    officer_page.close()
    assert db.session.scalar(select(Submission.status)) == "accepted"

    # the contact's readiness has changed
    page.reload()
    expect(page.locator("[data-verdict]")).to_have_attribute("data-verdict", "ready")
