"""The policy list (政策库): create, edit, deactivate with audit; validation; who may read and keep it; search."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from crm.core import clock
from crm.core.audit import AuditEvent
from crm.core.validation import ValidationFailed
from crm.policies import queries, services
from crm.policies.models import Policy, WindowState
from crm.service import services as service_services
from tests import factories
from tests.helpers import text


def _events(db, action=None):
    stmt = select(func.count()).select_from(AuditEvent).where(AuditEvent.entity_type == "policies")
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return db.session.scalar(stmt)


def _policies(db):
    return db.session.scalar(select(func.count()).select_from(Policy))


VALID = {"title": "科技创新券", "issuer": "宁夏回族自治区科学技术厅", "document_no": "宁科规发〔2023〕2号",
         "summary": "企业购买科技服务，按合同额的50%给予补助。", "opens_on": "2026-03-01", "closes_on": "2026-10-31",
         "active": "y"}


def test_a_manager_adds_a_policy_and_it_is_audited(client, login_as, world, db):
    login_as("manager", region=world.city)
    response = client.post("/policies/new", data=VALID)
    assert response.status_code == 303
    policy = db.session.scalar(select(Policy))
    assert (policy.title, policy.document_no, policy.opens_on, policy.closes_on, policy.active) == (
        "科技创新券", "宁科规发〔2023〕2号", date(2026, 3, 1), date(2026, 10, 31), True)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "policies"))
    assert event.action == "create" and event.entity_id == policy.id and event.changes["title"] == [None, "科技创新券"]
    assert "科技创新券" in text(client.get(response.headers["Location"]))


def test_edit_records_only_what_changed(client, login_as, world, db):
    policy = factories.policy(title="研发后补助")
    login_as("admin")
    assert client.get(f"/policies/{policy.id}/edit").status_code == 200
    data = {"title": "研发后补助", "issuer": policy.issuer, "document_no": "宁科规发〔2024〕5号",
            "summary": policy.summary, "opens_on": "2026-01-01", "closes_on": "2026-12-31", "active": "y"}
    assert client.post(f"/policies/{policy.id}/edit", data=data).status_code == 303
    db.session.refresh(policy)
    assert policy.document_no == "宁科规发〔2024〕5号"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "update"))
    assert set(event.changes) == {"document_no"}
    # the same data again changes nothing and records nothing
    assert client.post(f"/policies/{policy.id}/edit", data=data).status_code == 303
    assert _events(db, "update") == 1


def test_deactivate_and_reactivate_are_audited_and_idempotent(client, login_as, world, db):
    policy = factories.policy()
    login_as("manager", region=world.other_city)
    assert client.post(f"/policies/{policy.id}/deactivate").status_code == 303
    db.session.refresh(policy)
    assert policy.active is False
    assert client.post(f"/policies/{policy.id}/deactivate").status_code == 303  # already inactive: nothing more
    assert _events(db, "deactivate") == 1
    assert policy not in queries.active_policies()
    assert client.post(f"/policies/{policy.id}/reactivate").status_code == 303
    db.session.refresh(policy)
    assert policy.active is True and _events(db, "reactivate") == 1
    assert policy in queries.active_policies()


@pytest.mark.parametrize("data, field", [
    ({**VALID, "title": "  "}, "title"),
    ({**VALID, "opens_on": "2026-10-01", "closes_on": "2026-09-30"}, "closes_on"),
    ({**VALID, "opens_on": "2026-13-01"}, "opens_on"),
    ({**VALID, "title": "政" * 161}, "title"),
])
def test_bad_input_re_renders_with_422_and_writes_nothing(client, login_as, world, db, data, field):
    login_as("admin")
    response = client.post("/policies/new", data=data)
    assert response.status_code == 422
    assert f'id="{field}"' in response.get_data(as_text=True) and "is-invalid" in response.get_data(as_text=True)
    assert _policies(db) == 0 and _events(db) == 0


def test_a_bad_edit_leaves_the_policy_as_it_was(client, login_as, world, db):
    policy = factories.policy(title="科技贷款贴息")
    login_as("admin")
    response = client.post(f"/policies/{policy.id}/edit",
                           data={**VALID, "opens_on": "2026-06-01", "closes_on": "2026-05-01"})
    assert response.status_code == 422
    db.session.refresh(policy)
    assert policy.title == "科技贷款贴息" and _events(db) == 0


def test_the_service_refuses_a_window_closing_before_it_opens(world, db):
    with pytest.raises(ValidationFailed) as refused:
        services.create_policy({"title": "x", "opens_on": date(2026, 5, 2), "closes_on": date(2026, 5, 1)},
                               actor="test")
    assert set(refused.value.errors) == {"closes_on"}
    with pytest.raises(ValidationFailed) as refused:
        services.create_policy({"title": ""}, actor="test")
    assert set(refused.value.errors) == {"title"}


def test_an_officer_reads_the_list_but_may_not_keep_it(client, login_as, world, db):
    policy = factories.policy(title="高新技术企业认定奖励")
    login_as("officer", region=world.county_x)
    page = client.get("/policies")
    assert page.status_code == 200 and "高新技术企业认定奖励" in text(page)
    assert f"/policies/{policy.id}/edit" not in text(page) and "/policies/new" not in text(page)
    assert client.get("/policies/new").status_code == 403
    assert client.get(f"/policies/{policy.id}/edit").status_code == 403
    assert client.post(f"/policies/{policy.id}/edit", data={**VALID, "title": "改"}).status_code == 403
    assert client.post(f"/policies/{policy.id}/deactivate").status_code == 403
    db.session.refresh(policy)
    assert policy.title == "高新技术企业认定奖励" and policy.active and _events(db) == 0


def test_an_enterprise_user_may_not_open_the_list(client, login_as, world, db):
    factories.policy()
    login_as("enterprise", enterprise=world.ent_x)
    assert client.get("/policies").status_code == 403
    assert client.get("/policies/new").status_code == 403


def test_the_nav_links_the_list_for_bureau_users_only(client, login_as, world, db):
    login_as("officer", region=world.county_x)
    assert 'href="/policies"' in client.get("/account").get_data(as_text=True)
    login_as("enterprise", enterprise=world.ent_x)
    assert 'href="/policies"' not in client.get("/account").get_data(as_text=True)


def test_search_by_title_or_document_number_and_state_filter(client, login_as, world, db):
    factories.policy(title="研发费用加计扣除", document_no="财政部 税务总局公告2023年第7号")
    factories.policy(title="科技创新券", document_no="宁科规发〔2023〕2号")
    factories.policy(title="旧的研发补助", document_no="宁科发〔2019〕1号", active=False)
    login_as("officer", region=world.county_x)
    body = text(client.get("/policies?q=研发"))
    assert "研发费用加计扣除" in body and "科技创新券" not in body and "旧的研发补助" not in body
    body = text(client.get("/policies?q=2023年第7号"))
    assert "研发费用加计扣除" in body and "科技创新券" not in body
    body = text(client.get("/policies?q=研发&state=all"))
    assert "研发费用加计扣除" in body and "旧的研发补助" in body
    body = text(client.get("/policies?state=inactive"))
    assert "旧的研发补助" in body and "科技创新券" not in body
    body = text(client.get("/policies?q=%25"))  # a LIKE wildcard is searched for as itself: no match
    assert "科技创新券" not in body and 'data-policy="' not in body
    assert client.get("/policies?state=bogus&page=x").status_code == 200


def test_the_list_is_paginated(client, login_as, world, db):
    for n in range(55):
        factories.policy(title=f"政策{n:03d}")
    login_as("admin")
    first, second = text(client.get("/policies")), text(client.get("/policies?page=2"))
    assert "政策000" in first and "政策049" in first and "政策050" not in first
    assert "政策050" in second and "政策054" in second and "政策000" not in second
    assert "55" in second


def test_window_state_against_today(world, db):
    today = clock.today()
    day = timedelta(days=1)
    assert factories.policy(opens_on=today - day, closes_on=today + day).window_state(today) == WindowState.OPEN
    assert factories.policy(opens_on=today, closes_on=today).window_state(today) == WindowState.OPEN
    assert factories.policy(opens_on=today - 9 * day, closes_on=today - day).window_state(today) == WindowState.CLOSED
    assert factories.policy(opens_on=today + day, closes_on=None).window_state(today) == WindowState.NOT_YET_OPEN
    assert factories.policy(opens_on=None, closes_on=None).window_state(today) == WindowState.OPEN


def test_the_list_shows_the_window_state_and_the_visits_citing_each(client, login_as, world, db):
    today = clock.today()
    cited = factories.policy(title="科技型中小企业评价入库", opens_on=today - timedelta(days=30),
                             closes_on=today + timedelta(days=30))
    closed = factories.policy(title="宁夏研发后补助", opens_on=today - timedelta(days=90),
                              closes_on=today - timedelta(days=10))
    officer_x = factories.user("officer", region=world.county_x)
    officer_y = factories.user("officer", region=world.county_y)
    for n in range(3):
        service_services.record_visit(world.ent_x, {"visited_on": today - timedelta(days=n), "mode": "onsite",
                                                    "policy_ids": [cited.id]}, actor=officer_x)
    service_services.record_visit(world.ent_y, {"visited_on": today, "mode": "phone",
                                                "policy_ids": [cited.id, closed.id]}, actor=officer_y)
    db.session.commit()
    # an officer counts the visits in their own scope only
    assert queries.citation_counts(officer_x, [cited.id, closed.id]) == {cited.id: 3}
    login_as("admin")
    body = client.get("/policies").get_data(as_text=True)
    row = body.split(f'data-policy="{cited.id}"')[1].split("</tr>")[0]
    assert "window-open" in row and '<td class="num">4</td>' in row
    row = body.split(f'data-policy="{closed.id}"')[1].split("</tr>")[0]
    assert "window-closed" in row and '<td class="num">1</td>' in row


def test_citation_counts_take_one_query(world, db):
    from sqlalchemy import event

    policies = [factories.policy() for _ in range(5)]
    admin = factories.user("admin")
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        queries.citation_counts(admin, [p.id for p in policies])
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len([s for s in statements if "visit_policies" in s]) == 1
