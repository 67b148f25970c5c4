"""Output escaping in a real browser: markup typed into every text field is shown as text, never run.

A small data set carries two payloads in every text field (a script element and an attribute breakout
with an onerror handler). Each main page is opened in headless Chromium with the Content-Security-Policy
header taken off the responses, so that the test proves the escaping itself (the CSP would block inline
script anyway: it is the second line of defence, not the one under test). On every page `window.__xss`
stays undefined, no element of a payload exists in the DOM, and the payload is on the page as text.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from crm.service.models import NeedComment
from tests import factories
from tests.helpers import open_login_signed_out
from tests.test_browser import browser_context_args, browser_type_launch_args, live_server  # noqa: F401

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__xss=1</script>"
ATTR = '"><img src=x onerror="window.__xss=1">'
BOTH = f"{SCRIPT}{ATTR}"  # 73 characters: for the fields that hold as many


def _x(label: str, limit: int = 200) -> str:
    """A field's value: a readable label, then as much of the payloads as the column holds."""
    for payload in (f"{label} {BOTH}", BOTH, ATTR, SCRIPT):
        if len(payload) <= limit:
            return payload
    raise AssertionError(limit)


@pytest.fixture
def hostile(world, db):
    """An enterprise, its people and its service work, every text field carrying the payloads."""
    world.county_x.name = _x("county", 60)
    ent = world.ent_x
    ent.name = _x("Enterprise")
    ent.address = _x("Address", 255)
    ent.contacts  # noqa: B018 (loaded before adding)
    from crm.enterprises.models import Contact

    db.session.add_all([
        Contact(enterprise_id=ent.id, name=SCRIPT, title=ATTR, phone="13800000000", email="a@b.cn", is_primary=True),
        Contact(enterprise_id=ent.id, name=ATTR, title=SCRIPT, phone="13800000001", email=""),
    ])
    officer = factories.user("officer", region=world.county_x, username="officer_x", name=ATTR, serves=[ent],
                             locale="en")
    manager = factories.user("manager", region=world.city, username="manager_c", name=SCRIPT, locale="en")
    contact = factories.user("enterprise", enterprise=ent, username="firm", name=_x("contact", 60), locale="en")
    policy = factories.policy(_x("Policy", 160), issuer=_x("Issuer", 120), summary=_x("Summary", 1000))
    department = factories.department(SCRIPT)
    visit = factories.visit(ent, officer, people_met=_x("People met"), summary=_x("Summary", 1000))
    visit.policies.append(policy)
    need = factories.need(ent, owner=officer, visit=visit, title=_x("Need", 120), description=_x("Description", 999),
                          department_id=department.id, status="referred", resolution=_x("Resolution", 999))
    overdue = factories.need(ent, owner=officer, title=_x("Overdue", 120), description=_x("Description", 999),
                             raised_on=factories.date(2026, 1, 5), due_on=factories.date(2026, 1, 10))
    factories.follow_up(ent, officer, need=need, action=_x("Follow-up", 200),
                        due_on=factories.date(2026, 1, 12))
    db.session.add_all([
        NeedComment(need_id=need.id, author_id=officer.id, body=_x("Comment", 999), visible_to_enterprise=True),
        NeedComment(need_id=overdue.id, author_id=contact.id, body=_x("Their comment", 999)),
    ])
    factories.certification(ent, "tech_sme")
    factories.figures(ent, 2025)
    for user in (officer, manager):
        factories.notification(user, params={"title": _x("Notice"), "enterprise": BOTH, "due_on": "2026-01-10"})
    db.session.commit()
    return {"ent": ent, "visit": visit, "need": need, "overdue": overdue, "region": world.county_x}


def _without_csp(page: Page) -> None:
    def handle(route):
        response = route.fetch()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-security-policy"}
        route.fulfill(response=response, headers=headers)

    page.route("**/*", handle)


def _sign_in(page: Page, base: str, username: str) -> None:
    # _without_csp's handler fetches through the context, which stores the cookies of what it fetched: a fetch of
    # the previous user's page finishing late set their session again after this sign-in (a 403 on /portal, once
    # in CI). Wait for the running handlers before signing in, and route again afterwards.
    page.unroute_all(behavior="wait")
    open_login_signed_out(page, base)
    expect(page.locator("#username")).to_be_visible()
    page.locator("#username").fill(username)
    page.locator("#password").fill(factories.PASSWORD)
    page.locator("button[type=submit]").click()
    expect(page.locator("#username")).to_have_count(0)
    _without_csp(page)


INJECTED = """() => [...document.querySelectorAll('script:not([src]), img[onerror], [onerror]')]
    .filter(e => (e.textContent + (e.getAttribute('onerror') || '')).includes('__xss')).length"""


def _check(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, url
    assert page.evaluate("typeof window.__xss") == "undefined", url
    assert page.evaluate(INJECTED) == 0, url
    shown = page.locator("body").inner_text()
    assert SCRIPT in shown or ATTR in shown, f"{url}: the payload is not on the page as text"


def test_markup_in_every_text_field_is_shown_as_text(page: Page, live_server, hostile):  # noqa: F811
    _without_csp(page)
    base, ent = live_server, hostile["ent"]
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    _sign_in(page, base, "officer_x")
    for path in ["/enterprises", f"/enterprises?q={ent.uscc}", f"/enterprises/{ent.id}",
                 f"/enterprises/{ent.id}/timeline", f"/visits/{hostile['visit'].id}", f"/needs/{hostile['need'].id}",
                 f"/needs/{hostile['overdue'].id}", "/needs", "/follow-ups", "/workbench", "/notifications",
                 f"/enterprises/{ent.id}/edit", f"/visits/{hostile['visit'].id}/edit",
                 f"/needs/{hostile['need'].id}/edit"]:
        _check(page, base + path)

    _sign_in(page, base, "manager_c")
    region = hostile["region"].id
    for path in [f"/pipeline?region={region}", f"/pipeline/expiring?region={region}", "/notifications",
                 "/needs", f"/enterprises/{ent.id}"]:
        _check(page, base + path)

    _sign_in(page, base, "firm")
    for path in ["/portal", "/portal/needs", f"/portal/needs/{hostile['need'].id}"]:
        _check(page, base + path)
    assert problems == []
