"""The enterprise portal: home, needs, submissions and their review, accounts and set-password links."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.auth.models import PasswordLink, User
from crm.core import clock
from crm.core.audit import AuditEvent
from crm.core.db import utcnow
from crm.enterprises.models import AnnualFigures, IntellectualProperty
from crm.portal.models import Submission
from crm.service.models import Need, NeedComment
from tests import factories
from tests.helpers import text

Y = clock.today().year - 1


def _events(db) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


@pytest.fixture
def people(world, db):
    officer = factories.user("officer", region=world.county_x, username="lixm", name="李晓梅", phone="13895010606",
                             serves=[world.ent_x])
    contact = factories.user("enterprise", enterprise=world.ent_x, username="zhang", name="张经理", locale="en")
    other = factories.user("enterprise", enterprise=world.ent_y, username="other", name="西夏联系人", locale="en")
    db.session.commit()
    return {"officer": officer, "contact": contact, "other": other}


def test_home_sends_an_enterprise_user_to_the_portal_and_staff_pages_are_closed(client, login_as, world, people):
    login_as(people["contact"])
    assert client.get("/").headers["Location"].endswith("/portal")
    assert client.get(f"/enterprises/{world.ent_x.id}").status_code == 403
    assert client.get(f"/enterprises/{world.ent_x.id}/readiness").status_code == 403
    assert client.get("/enterprises").status_code == 403


def test_home_shows_tier_certificate_expiry_officer_and_readiness_without_officer_tools(
        client, login_as, world, people, db):
    cert = factories.certification(world.ent_x, "high_tech", issued_on=clock.today() - timedelta(days=400))
    factories.figures(world.ent_x, Y)
    db.session.commit()
    login_as(people["contact"])
    page = text(client.get("/portal"))
    days = (cert.expires_on - clock.today()).days
    assert (f"national high-tech enterprise certificate no. {cert.certificate_no}, valid until "
            f"{cert.expires_on.isoformat()}, {days} days left") in page.replace("National", "national")
    assert "李晓梅" in page and "tel:13895010606" in page
    assert 'id="readiness-body"' in page and "What to do next" in page
    assert 'name="whatif"' not in page and "coach-link" not in page and "/readiness/inputs" not in page
    assert f"/enterprises/{world.ent_x.id}" not in page  # no link to the bureau's pages
    assert world.ent_y.name not in page


def test_isolation_every_route_with_another_enterprises_ids(client, app, login_as, world, people, db):
    """Every URL of the app with a number in it, filled with the ids of ent_y's records, as ent_x's contact:
    403 or 404, never ent_y's data."""
    officer_y = factories.user("officer", region=world.county_y, serves=[world.ent_y])
    need = factories.need(world.ent_y, owner=officer_y, title="西夏的秘密需求")
    factories.figures(world.ent_y, Y)
    sub = factories.submission(world.ent_y, people["other"], Y, revenue="9999.00")
    db.session.add(NeedComment(need_id=need.id, author_id=officer_y.id, body="内部意见", visible_to_enterprise=False))
    db.session.commit()
    login_as(people["contact"])
    numbers = {"enterprise_id": world.ent_y.id, "need_id": need.id, "submission_id": sub.id,
               "user_id": people["other"].id}
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.arguments or rule.endpoint == "static":
            continue
        values = {arg: numbers.get(arg, 1) for arg in rule.arguments}
        if any(not isinstance(v, int) for v in values.values()):
            continue
        url = re.sub(r"<(?:int:)?(\w+)>", lambda m, v=values: str(v.get(m.group(1), "x")), rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method, data={"body": "x", "satisfaction": "5", "comment": "x"})
            assert response.status_code in (403, 404), (method, url, response.status_code)
            body = text(response)
            assert "西夏的秘密需求" not in body and world.ent_y.name not in body and "9999" not in body
            checked += 1
    assert checked > 30
    assert db.session.scalar(select(Submission.status).where(Submission.id == sub.id)) == "pending"


def test_portal_routes_never_take_an_enterprise_from_the_url(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("portal."):
            assert "enterprise_id" not in rule.arguments, rule.rule


# --- needs ---------------------------------------------------------------------------------------------


def test_raise_a_need_goes_to_the_officer(client, login_as, world, people, db):
    login_as(people["contact"])
    response = client.post("/portal/needs/new", data={"category": "finance", "title": "申请科技贷款",
                                                      "description": "500万元"})
    assert response.status_code == 303
    need = db.session.scalar(select(Need))
    assert need.owner_id == people["officer"].id and need.created_by_id == people["contact"].id
    assert need.enterprise_id == world.ent_x.id and need.status == "open"
    page = text(client.get(response.headers["Location"]))
    assert "申请科技贷款" in page and "request sent" in page


def test_a_bad_need_is_refused_and_writes_nothing(client, login_as, people, db):
    login_as(people["contact"])
    before = _events(db)
    assert client.post("/portal/needs/new", data={"category": "finance", "title": ""}).status_code == 422
    assert client.post("/portal/needs/new", data={"category": "nonsense", "title": "x"}).status_code == 422
    assert _events(db) == before and db.session.scalar(select(func.count()).select_from(Need)) == 0


def test_comments_internal_ones_never_reach_the_enterprise(client, login_as, world, people, db):
    need = factories.need(world.ent_x, owner=people["officer"], title="人才公寓")
    db.session.commit()
    login_as(people["officer"])
    internal = {"body": "内部：先问住建局", "internal": "y"}
    assert client.post(f"/needs/{need.id}/comments", data=internal).status_code == 303
    assert client.post(f"/needs/{need.id}/comments", data={"body": "已联系园区，下周答复"}).status_code == 303
    login_as(people["contact"])
    assert client.post(f"/portal/needs/{need.id}/comments", data={"body": "谢谢"}).status_code == 303
    page = text(client.get(f"/portal/needs/{need.id}"))
    assert "已联系园区，下周答复" in page and "谢谢" in page and "内部：先问住建局" not in page
    comment = db.session.scalar(select(NeedComment).where(NeedComment.body == "谢谢"))
    assert comment.visible_to_enterprise and comment.author_id == people["contact"].id
    # the officer sees all three, the internal one marked
    login_as(people["officer"])
    staff = text(client.get(f"/needs/{need.id}"))
    assert "内部：先问住建局" in staff and "谢谢" in staff and 'badge text-bg-secondary' in staff


def test_rating_a_closed_need(client, login_as, world, people, db):
    open_need = factories.need(world.ent_x, owner=people["officer"])
    closed = factories.need(world.ent_x, owner=people["officer"], status="resolved", resolution="已办结",
                            closed_on=clock.today())
    db.session.commit()
    login_as(people["contact"])
    assert client.post(f"/portal/needs/{open_need.id}/rating", data={"satisfaction": "5"}).status_code == 422
    assert client.post(f"/portal/needs/{closed.id}/rating", data={"satisfaction": "9"}).status_code == 422
    assert client.post(f"/portal/needs/{closed.id}/rating", data={"satisfaction": "4"}).status_code == 303
    db.session.refresh(closed)
    assert closed.satisfaction == 4
    assert "rated 4 of 5" in text(client.get(f"/portal/needs/{closed.id}"))


# --- figures ----------------------------------------------------------------------------------------------


def _figures_form(year=Y, **changes):
    data = {"year": str(year), "revenue": "3200", "hightech_revenue": "2300", "rd_expense": "180",
            "rd_expense_domestic": "180", "total_cost": "2800", "total_assets": "4100", "net_assets": "2100",
            "employees": "85", "tech_staff": "14", "rd_staff": "10"}
    data.update(changes)
    return data


def test_submitted_figures_count_only_once_accepted(client, login_as, world, people, db):
    factories.figures(world.ent_x, Y)
    db.session.commit()
    login_as(people["contact"])
    form = text(client.get("/portal/figures/new"))
    assert 'value="3200.00"' in form  # filled in with the figures on record
    response = client.post("/portal/figures/new", data=_figures_form(rd_expense="260", rd_expense_domestic="250"))
    assert response.status_code == 303
    sub = db.session.scalar(select(Submission))
    assert (sub.status, sub.year, sub.data["rd_expense"], sub.base["rd_expense"]) == ("pending", Y, "260.00",
                                                                                      "180.00")
    figures = db.session.scalar(select(AnnualFigures))
    assert figures.rd_expense == Decimal("180.00")  # not counted yet
    assert "Waiting for review" in text(client.get("/portal/figures"))
    # the officer sees the change highlighted and accepts it
    login_as(people["officer"])
    assert str(world.ent_x.name) in text(client.get("/submissions"))
    review = text(client.get(f"/submissions/{sub.id}"))
    assert re.search(r'diff-changed[^"]*" data-field="rd_expense"', review)
    assert not re.search(r'diff-changed[^"]*" data-field="revenue"', review)
    assert client.post(f"/submissions/{sub.id}/accept", data={"version": sub.version}).status_code == 303
    db.session.refresh(figures)
    db.session.refresh(sub)
    assert figures.rd_expense == Decimal("260.00") and figures.source == "enterprise" and figures.verified
    assert sub.status == "accepted" and sub.reviewed_by_id == people["officer"].id


def test_a_conflicting_officer_edit_is_detected_and_shown(client, login_as, world, people, db):
    figures = factories.figures(world.ent_x, Y)
    db.session.commit()
    login_as(people["contact"])
    client.post("/portal/figures/new", data=_figures_form(employees="90"))
    sub = db.session.scalar(select(Submission))
    # the officer corrects the same year meanwhile
    login_as(people["officer"])
    assert client.post(f"/enterprises/{world.ent_x.id}/figures/{figures.id}/edit",
                       data=_figures_form(revenue="3300")).status_code == 303
    page = text(client.get(f"/submissions/{sub.id}"))
    assert 'id="conflict"' in page and 'diff-conflict' in page
    before = _events(db)
    response = client.post(f"/submissions/{sub.id}/accept", data={"version": sub.version})
    assert response.status_code == 409 and _events(db) == before
    db.session.refresh(figures)
    assert (figures.revenue, figures.employees) == (Decimal("3300.00"), 85)
    # overwriting is a deliberate choice
    assert client.post(f"/submissions/{sub.id}/accept", data={"version": sub.version, "overwrite": "y"}
                       ).status_code == 303
    db.session.refresh(figures)
    assert (figures.revenue, figures.employees) == (Decimal("3200.00"), 90)


def test_return_needs_a_comment_and_the_enterprise_sees_it(client, login_as, world, people, db):
    login_as(people["contact"])
    client.post("/portal/figures/new", data=_figures_form())
    sub = db.session.scalar(select(Submission))
    login_as(people["officer"])
    assert client.post(f"/submissions/{sub.id}/return", data={"version": sub.version}).status_code == 422
    assert client.post(f"/submissions/{sub.id}/return",
                       data={"version": sub.version, "comment": "研发人员数请按社保名单填写"}).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(AnnualFigures)) == 0
    login_as(people["contact"])
    page = text(client.get(f"/portal/submissions/{sub.id}"))
    assert "研发人员数请按社保名单填写" in page and "Returned" in page
    assert "returned your submission" in text(client.get("/portal"))


def test_a_new_submission_of_the_same_year_replaces_the_pending_one(client, login_as, people, db):
    login_as(people["contact"])
    client.post("/portal/figures/new", data=_figures_form())
    client.post("/portal/figures/new", data=_figures_form(employees="86"))
    subs = db.session.scalars(select(Submission).order_by(Submission.id)).all()
    assert [(s.status, s.revision) for s in subs] == [("superseded", 1), ("pending", 2)]


def test_bad_figures_are_refused_with_the_registry_rules(client, login_as, people, db):
    login_as(people["contact"])
    before = _events(db)
    response = client.post("/portal/figures/new", data=_figures_form(tech_staff="90"))
    assert response.status_code == 422 and "Tech staff cannot exceed employees." in text(response)
    assert _events(db) == before


def test_an_ip_item_is_added_when_accepted(client, login_as, world, people, db):
    login_as(people["contact"])
    response = client.post("/portal/ip/new", data={"kind": "invention_patent", "title": "一种装置",
                                                   "number": "ZL202310000001.X", "granted_on": "2024-05-01",
                                                   "is_valid": "y"})
    assert response.status_code == 303
    sub = db.session.scalar(select(Submission))
    login_as(people["officer"])
    assert client.post(f"/submissions/{sub.id}/accept", data={"version": sub.version}).status_code == 303
    item = db.session.scalar(select(IntellectualProperty))
    assert (item.number, item.kind, item.enterprise_id) == ("ZL202310000001.X", "invention_patent", world.ent_x.id)


def test_only_the_serving_officer_reviews(client, login_as, world, people, db):
    login_as(people["contact"])
    client.post("/portal/figures/new", data=_figures_form())
    sub = db.session.scalar(select(Submission))
    login_as("officer", region=world.county_x)  # same county, does not serve ent_x
    assert client.get(f"/submissions/{sub.id}").status_code == 403
    assert sub.id and "兴庆" not in text(client.get("/submissions"))


# --- accounts and set-password links ------------------------------------------------------------------


def test_officer_creates_an_account_and_the_contact_sets_a_password(client, login_as, world, people, db, app):
    login_as(people["officer"])
    response = client.post(f"/enterprises/{world.ent_x.id}/accounts",
                           data={"username": "wangfang", "name": "王芳", "phone": "13900000000"})
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    url = re.search(r'value="(http://[^"]+/set-password/[^"]+)"', page).group(1)
    assert "/set-password/" not in text(client.get(response.headers["Location"]))  # shown once
    token = url.rsplit("/", 1)[1]
    user = db.session.scalar(select(User).where(User.username == "wangfang"))
    assert user.role == "enterprise" and user.enterprise_id == world.ent_x.id
    link = db.session.scalar(select(PasswordLink))
    assert token not in link.token_hash and len(link.token_hash) == 64
    client.post("/logout")
    assert client.get(f"/set-password/{token}").status_code == 200
    assert client.post(f"/set-password/{token}", data={"new_password": "short", "confirm": "short"}).status_code == 422
    assert client.post(f"/set-password/{token}", data={"new_password": "Fangfang2026", "confirm": "Fangfang2026"}
                       ).status_code == 303
    assert client.get(f"/set-password/{token}").status_code == 404  # single use
    login = client.post("/login", data={"username": "wangfang", "password": "Fangfang2026"})
    assert login.headers["Location"] == "/"


def test_links_expire_and_a_new_one_retires_the_old(client, login_as, world, people, db, app):
    from crm.auth import services

    first, token1 = services.issue_password_link(people["contact"], actor=people["officer"])
    second, token2 = services.issue_password_link(people["contact"], actor=people["officer"])
    db.session.commit()
    assert client.get(f"/set-password/{token1}").status_code == 404
    assert client.get(f"/set-password/{token2}").status_code == 200
    second.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(f"/set-password/{token2}").status_code == 404
    assert app.config["PASSWORD_LINK_DAYS"] == 7


def test_accounts_are_managed_by_the_serving_officer_only(client, login_as, world, people, db):
    login_as("officer", region=world.county_x)
    assert client.get(f"/enterprises/{world.ent_x.id}/accounts").status_code == 403
    assert client.post(f"/enterprises/{world.ent_x.id}/accounts/{people['contact'].id}/link").status_code == 403
    login_as(people["officer"])
    assert client.post(f"/enterprises/{world.ent_x.id}/accounts/{people['other'].id}/link").status_code == 404
    assert client.post(f"/enterprises/{world.ent_x.id}/accounts/{people['contact'].id}/link").status_code == 303
    assert "/set-password/" in text(client.get(f"/enterprises/{world.ent_x.id}/accounts"))


def test_own_readiness_sheet(client, login_as, world, people):
    login_as(people["contact"])
    response = client.get("/portal/readiness/sheet.pdf?tier=tech_sme&lang=en")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert client.get("/portal/readiness/sheet.pdf?tier=nonsense").status_code == 400


def test_the_link_is_mailed_in_the_contacts_language_when_smtp_is_set(client, login_as, world, people, db, app,
                                                                       monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "memory")
    app.extensions["mail_outbox"] = []
    login_as(people["officer"])
    client.post(f"/enterprises/{world.ent_x.id}/accounts",
                data={"username": "lina", "name": "李娜", "email": "lina@firm.example"})
    (message,) = app.extensions["mail_outbox"]
    assert message["To"] == "lina@firm.example" and "设置密码" in message["Subject"]
    assert re.search(r"http://\S+/set-password/\S+", message.get_content())
    # without an address nothing is mailed: the page shows the link to hand over
    client.post(f"/enterprises/{world.ent_x.id}/accounts", data={"username": "noemail", "name": "张三"})
    assert len(app.extensions["mail_outbox"]) == 1
