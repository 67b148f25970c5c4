"""The main path in a real browser: Debian's headless Chromium driven by Playwright.

Sign in, search the registry, open an enterprise, enter an invalid figure and see the error
next to the field, correct it and see it saved. Runs with CSRF protection on, as in production.
"""
import os
import re
import threading
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from werkzeug.serving import make_server

from crm.enterprises.models import AnnualFigures
from tests import factories

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's chromium; never a downloaded browser."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (installs Debian's chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A phone-sized screen: officers work in the field."""
    return {**browser_context_args, "viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
            "is_mobile": True, "has_touch": True, "locale": "zh-CN"}


@pytest.fixture
def live_server(app):
    """The app served on a free port in a thread, with CSRF protection on."""
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    app.config["WTF_CSRF_ENABLED"] = False


def test_officer_corrects_a_figure(page: Page, live_server, world, db):
    officer = factories.user("officer", region=world.county_x, username="lixm", name="李晓梅", serves=[world.ent_x])
    factories.figures(world.ent_x, 2024, employees=85, tech_staff=14)
    db.session.commit()

    page.goto(f"{live_server}/enterprises")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("用户名").fill(officer.username)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="企业台账")).to_be_visible()

    # search (htmx swaps the results as the user types)
    page.get_by_label("企业名称或统一社会信用代码").fill("智能装备")
    results = page.locator("#results")
    expect(results.get_by_role("link", name="兴庆智能装备有限公司")).to_be_visible()
    expect(results.get_by_role("link", name="园区新材料有限公司")).to_have_count(0)
    assert "q=" in page.url  # the search is in the address bar, so Back and sharing work
    results.get_by_role("link", name="兴庆智能装备有限公司").click()

    expect(page.get_by_role("heading", name=re.compile("兴庆智能装备有限公司"))).to_be_visible()
    page.locator("#figures").get_by_role("link", name="编辑").click()

    # an invalid value: more tech staff than employees
    page.get_by_label("科技人员").fill("90")
    page.get_by_role("button", name="保存").click()
    error = page.locator("#tech_staff ~ .invalid-feedback")
    expect(error).to_have_text("科技人员不能超过职工总数。")
    db.session.expire_all()
    assert db.session.scalar(select(AnnualFigures.tech_staff)) == 14  # nothing saved

    # corrected
    page.get_by_label("科技人员").fill("20")
    page.get_by_label("营业收入").fill("3,350.5")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".alert-success")).to_contain_text("2024")
    expect(page.locator("#figures")).to_contain_text("3,350.50")
    db.session.expire_all()
    saved = db.session.scalar(select(AnnualFigures))
    assert (saved.tech_staff, saved.revenue) == (20, Decimal("3350.50"))


def test_officer_reads_readiness_and_tries_a_whatif(page: Page, live_server, world, db):
    """Read an enterprise's readiness, switch tier with htmx, make it pass in a what-if, reset."""
    from tests.ladder.test_readiness_panel import GAP, Y, near_high_tech, ui

    officer = factories.user("officer", region=world.county_x, username="wangq", name="王强", serves=[world.ent_x])
    near_high_tech(world.ent_x)  # high-tech: everything met but R&D, 150 万元 short over three years
    db.session.commit()
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" and "favicon" not in msg.text
            and "404" not in msg.text else None)  # (the browser asks for a favicon there is none of)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(officer.username)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server}/enterprises/{world.ent_x.id}")
    card = page.locator("#readiness")
    address = page.url

    # the next tier of a candidate: tech-based SME, with its verdict and a gap
    expect(card.locator(".readiness-tier")).to_have_text(ui("Tech-based SME"))
    expect(card.locator(".verdict-badge")).to_have_text(ui("Not ready yet"))
    expect(card.locator("#criterion-sme_score .criterion-gap")).to_be_visible()

    # another tier's tab: htmx swaps the card's body, the address stays
    card.get_by_role("link", name=ui("National high-tech enterprise")).click()
    expect(card.locator(".readiness-tier")).to_have_text(ui("National high-tech enterprise"))
    expect(card.locator("#criterion-ht_rd_ratio .criterion-gap")).to_have_text(GAP)
    expect(card.locator(".verdict-badge")).to_have_text(ui("Not ready yet"))
    assert page.url == address

    # what if R&D grows by the gap: the verdict turns, nothing is saved
    card.get_by_text(ui("What if…")).click()
    card.locator("#whatif-rd_expense").fill("150")
    card.get_by_role("button", name=ui("Calculate")).click()
    expect(card.locator("#whatif-banner")).to_contain_text(ui("What-if calculation, not saved"))
    expect(card.locator(".verdict-badge")).to_have_text(ui("Ready to apply"))
    expect(card.locator("#criterion-ht_rd_ratio")).to_have_class(re.compile("criterion-changed"))
    db.session.expire_all()
    assert db.session.scalar(select(AnnualFigures.rd_expense).where(AnnualFigures.year == Y)) == Decimal("100.00")

    # reset: back to the saved figures
    card.locator("#whatif-banner").get_by_role("link", name=ui("Reset")).click()
    expect(card.locator("#whatif-banner")).to_have_count(0)
    expect(card.locator(".verdict-badge")).to_have_text(ui("Not ready yet"))
    assert page.url == address

    # the readiness sheet of the tier shown: a PDF download
    with page.expect_download() as info:
        card.get_by_role("link", name=ui("Readiness sheet (PDF)")).click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as f:
        assert f.read(5) == b"%PDF-"
    assert problems == []  # no script error, no CSP refusal
