"""The board in a real browser on a phone-sized screen: an officer moves three applications with htmx, one to
certified (the certificate then shows on the enterprise page), one to not passed (the reason is asked first)."""
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from crm.cycle.models import Application
from crm.ladder.models import Certification
from tests import factories
from tests.cycle.helpers import application, batch
from tests.test_browser import browser_context_args, browser_type_launch_args, live_server  # noqa: F401

pytestmark = pytest.mark.browser


def test_officer_moves_cards_across_the_board(page: Page, live_server, world, db):  # noqa: F811
    third = factories.enterprise(world.county_x, name="兴庆新能源科技有限公司")
    officer = factories.user("officer", region=world.county_x, username="lixm", name="李晓梅",
                             serves=[world.ent_x, world.ent_park, third])
    b = batch(world.city, "high_tech")
    early = application(b, world.ent_x, "intent")
    noticed = application(b, world.ent_park, "public_notice")
    submitted = application(b, third, "submitted")
    db.session.commit()
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill(officer.username)
    page.get_by_label("密码").fill(factories.PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server}/cycle/batches/{b.id}")
    board = page.locator("#board")
    expect(board.locator("#column-intent")).to_contain_text("兴庆智能装备有限公司")

    # one click forward: intent → coaching (htmx swaps the board)
    page.locator(f"#card-{early.id} [data-move=coaching]").click()
    expect(page.locator("#column-coaching")).to_contain_text("兴庆智能装备有限公司")
    expect(page.locator("#column-intent")).not_to_contain_text("兴庆智能装备有限公司")

    # public notice → certified: the certificate number and issue date are asked in the card
    page.locator(f"#card-{noticed.id} [data-move=certified]").click()
    form = page.locator(f"#move-{noticed.id}")
    form.locator("input[name=certificate_no]").fill("GR202564000777")
    form.get_by_role("button", name="保存").click()
    expect(page.locator("#column-certified")).to_contain_text("园区新材料有限公司")

    # submitted → not passed: refused without a reason, then saved with the weak criterion
    page.locator(f"#card-{submitted.id} [data-move=not_passed]").click()
    form = page.locator(f"#move-{submitted.id}")
    form.get_by_role("button", name="保存").click()
    expect(form.locator("select[name=reason].is-invalid")).to_be_visible()
    assert db.session.get(Application, submitted.id).stage == "submitted"
    form.locator("select[name=reason]").select_option("failed_review")
    form.locator("input[name=weak_criterion]").fill("研发费用占比")
    form.get_by_role("button", name="保存").click()
    expect(page.locator("#column-not_passed")).to_contain_text("兴庆新能源科技有限公司")
    expect(page.locator("#column-not_passed")).to_contain_text("研发费用占比")

    db.session.expire_all()
    stages = dict(db.session.execute(select(Application.id, Application.stage)).all())
    assert stages == {early.id: "coaching", noticed.id: "certified", submitted.id: "not_passed"}
    assert db.session.scalar(select(Certification.certificate_no)) == "GR202564000777"

    # the certification is on the enterprise page
    page.goto(f"{live_server}/enterprises/{world.ent_park.id}")
    expect(page.locator("body")).to_contain_text("GR202564000777")
    expect(page.locator("#cycle-card")).to_be_visible()
    assert problems == []
