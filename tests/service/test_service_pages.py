"""The service pages end to end through the test client: the visit form, needs, follow-ups, workbench, timeline."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.core import clock
from crm.policies.models import Policy
from crm.service import services
from crm.service.models import Department, FollowUp, Need, Visit
from tests import factories
from tests.helpers import count_queries, text
from tests.service.conftest import count


@pytest.fixture
def served(world, staff, db):
    """officer_x serves ent_x (and ent_park); a policy and a department exist."""
    services.assign_enterprise(world.ent_x, staff["officer_x"], actor=staff["manager"])
    services.assign_enterprise(world.ent_park, staff["officer_x"], actor=staff["manager"])
    factories.policy("研发费用加计扣除")
    factories.department("税务局")
    db.session.commit()
    return staff


def _visit_form(enterprise_id, **extra):
    data = {"enterprise_id": str(enterprise_id), "visited_on": clock.today().isoformat(), "mode": "onsite",
            "people_met": "张总（总经理）", "summary": "了解研发投入，宣讲加计扣除。",
            "needs-0-category": "", "needs-0-title": "", "needs-0-description": ""}
    data.update(extra)
    return data


def test_officer_logs_a_visit_with_a_need_and_a_follow_up(client, login_as, world, served, db):
    login_as(served["officer_x"])
    policy_id = db.session.scalar(select(func.min(Policy.id)))
    form = client.get(f"/visits/new?enterprise={world.ent_x.id}")
    assert form.status_code == 200 and world.ent_x.name in text(form)
    response = client.post("/visits/new", data=_visit_form(
        world.ent_x.id, policy_ids=str(policy_id), **{"needs-0-category": "finance", "needs-0-title": "申请科技贷款",
                                                      "needs-0-description": "流动资金500万元"},
        follow_up_on=(clock.today() + timedelta(days=3)).isoformat(), follow_up_action="回访贷款进度"))
    assert response.status_code == 303
    visit = db.session.scalar(select(Visit))
    assert response.headers["Location"].endswith(f"/visits/{visit.id}")
    need = db.session.scalar(select(Need))
    assert (need.visit_id, need.category, need.owner_id) == (visit.id, "finance", served["officer_x"].id)
    assert need.due_on == clock.today() + timedelta(days=30)
    follow_up = db.session.scalar(select(FollowUp))
    assert (follow_up.action, follow_up.source, follow_up.visit_id) == ("回访贷款进度", "visit", visit.id)
    assert [p.title for p in visit.policies] == ["研发费用加计扣除"]
    page = text(client.get(f"/visits/{visit.id}"))
    assert "申请科技贷款" in page and "回访贷款进度" in page


def test_a_bad_visit_form_re_renders_with_errors_and_writes_nothing(client, login_as, world, served, db):
    login_as(served["officer_x"])
    cases = [
        _visit_form(world.ent_x.id, summary=""),
        _visit_form(world.ent_x.id, visited_on=(clock.today() + timedelta(days=1)).isoformat()),
        _visit_form(world.ent_x.id, **{"needs-0-title": "缺类别"}),
        _visit_form(world.ent_x.id, visited_on="2025-13-40"),
        _visit_form(""),
    ]
    for data in cases:
        response = client.post("/visits/new", data=data)
        assert response.status_code == 422, data
        assert 'class="invalid-feedback' in text(response) or "alert-danger" in text(response)
    assert count(db, Visit) == count(db, Need) == count(db, FollowUp) == 0


def test_no_visit_for_an_enterprise_outside_the_officers_region(client, login_as, world, served, db):
    login_as(served["officer_x"])
    assert client.get(f"/visits/new?enterprise={world.ent_y.id}").status_code == 404
    assert client.post("/visits/new", data=_visit_form(world.ent_y.id)).status_code == 404
    assert count(db, Visit) == 0


def test_an_officer_of_the_region_may_visit_an_enterprise_served_by_another(client, login_as, world, served, db):
    login_as(served["officer_x2"])
    assert client.post("/visits/new", data=_visit_form(world.ent_x.id)).status_code == 303
    need_owner = served["officer_x"].id  # needs raised still go to the enterprise's own officer
    client.post("/visits/new", data=_visit_form(world.ent_x.id, **{"needs-0-category": "talent",
                                                                    "needs-0-title": "招聘研发人员"}))
    assert db.session.scalar(select(Need.owner_id)) == need_owner


def test_the_visit_form_offers_own_enterprises_and_searches_others(client, login_as, world, served):
    login_as(served["officer_x"])
    page = text(client.get("/visits/new"))
    assert world.ent_x.name in page and world.ent_park.name in page and world.ent_y.name not in page
    login_as(served["officer_x2"])  # serves nothing: finds enterprises of the region by name, never outside it
    assert world.ent_park.name in text(client.get("/visits/enterprises?q=园区", headers={"HX-Request": "true"}))
    assert world.ent_y.name not in text(client.get("/visits/enterprises?q=西夏", headers={"HX-Request": "true"}))


def test_need_status_flow_on_the_need_page(client, login_as, world, served, db):
    login_as(served["officer_x"])
    need = factories.need(world.ent_x, owner=served["officer_x"])
    db.session.commit()
    page = text(client.get(f"/needs/{need.id}"))
    assert 'id="need-status-form"' in page
    r = client.post(f"/needs/{need.id}/status", data={"status": "in_progress", "version": "1"})
    assert r.status_code == 303
    r = client.post(f"/needs/{need.id}/status", data={"status": "resolved", "version": "2", "resolution": ""})
    assert r.status_code == 422 and db.session.get(Need, need.id).status == "in_progress"
    r = client.post(f"/needs/{need.id}/status", data={"status": "resolved", "version": "2", "satisfaction": "5",
                                                      "resolution": "已对接宁夏银行，获批贷款300万元"})
    assert r.status_code == 303
    need = db.session.get(Need, need.id)
    assert (need.status, need.satisfaction, need.closed_on) == ("resolved", 5, clock.today())
    history = text(client.get(f"/needs/{need.id}"))
    assert "已对接宁夏银行" in history


def test_an_invalid_transition_is_refused_with_a_message(client, login_as, world, served, db):
    login_as(served["officer_x"])
    need = factories.need(world.ent_x, owner=served["officer_x"], status="resolved", resolution="已解决",
                          closed_on=clock.today())
    db.session.commit()
    r = client.post(f"/needs/{need.id}/status", data={"status": "referred", "version": "1", "resolution": "x"})
    assert r.status_code == 422
    assert db.session.get(Need, need.id).status == "resolved"


def test_a_stale_save_is_refused_naming_who_changed_it(client, login_as, world, served, db):
    need = factories.need(world.ent_x, owner=served["officer_x"])
    db.session.commit()
    services.change_need_status(need, "in_progress", actor=served["manager"], version=1)
    db.session.commit()
    login_as(served["officer_x"])
    r = client.post(f"/needs/{need.id}/status", data={"status": "resolved", "version": "1", "resolution": "办结"})
    assert r.status_code == 409  # a conflict, not bad input (crm.core.concurrency)
    assert "王经理" in text(r)
    assert db.session.get(Need, need.id).status == "in_progress"
    r = client.post(f"/needs/{need.id}/edit", data={"category": "talent", "title": "改", "due_on": "",
                                                    "version": "1"})
    assert r.status_code == 409 and db.session.get(Need, need.id).title != "改"


def test_an_unassigned_officer_reads_a_need_but_cannot_change_it(client, login_as, world, served, db):
    need = factories.need(world.ent_x, owner=served["officer_x"])
    db.session.commit()
    login_as(served["officer_x2"])
    page = text(client.get(f"/needs/{need.id}"))
    assert 'id="need-status-form"' not in page
    assert client.post(f"/needs/{need.id}/status", data={"status": "in_progress", "version": "1"}).status_code == 403
    assert db.session.get(Need, need.id).status == "open"


def test_follow_up_done_from_the_list_and_twice_is_harmless(client, login_as, world, served, db):
    fu = factories.follow_up(world.ent_x, served["officer_x"], due_on=clock.today() - timedelta(days=2))
    db.session.commit()
    login_as(served["officer_x"])
    assert fu.action in text(client.get("/follow-ups?state=overdue"))
    r = client.post(f"/follow-ups/{fu.id}/done", data={"note": "企业已提交材料", "next": "/workbench"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/workbench")
    assert db.session.get(FollowUp, fu.id).done_note == "企业已提交材料"
    assert client.post(f"/follow-ups/{fu.id}/done", data={"note": "again"}).status_code == 303
    assert db.session.get(FollowUp, fu.id).done_note == "企业已提交材料"


def test_follow_up_from_a_readiness_gap_keeps_its_source(client, login_as, world, served, db):
    login_as(served["officer_x"])
    r = client.get(f"/follow-ups/new?enterprise={world.ent_x.id}&source=readiness&action=辅导研发费用归集")
    assert r.status_code == 200 and "辅导研发费用归集" in text(r)
    r = client.post("/follow-ups/new", data={"enterprise": world.ent_x.id, "source": "readiness",
                                             "action": "辅导研发费用归集",
                                             "due_on": (clock.today() + timedelta(days=14)).isoformat(),
                                             "assignee_id": served["officer_x"].id})
    assert r.status_code == 303
    assert db.session.scalar(select(FollowUp.source)) == "readiness"


def test_workbench_shows_the_officers_day(client, login_as, world, served, db):
    me = served["officer_x"]
    factories.follow_up(world.ent_x, me, due_on=clock.today(), action="今天回访")
    factories.follow_up(world.ent_x, me, due_on=clock.today() - timedelta(days=5), action="逾期回访")
    factories.follow_up(world.ent_x, me, due_on=clock.today() + timedelta(days=30), action="下月回访")
    factories.follow_up(world.ent_x, served["officer_x2"], due_on=clock.today(), action="别人的跟进")
    factories.need(world.ent_x, owner=me, title="逾期需求", raised_on=clock.today() - timedelta(days=40),
                   due_on=clock.today() - timedelta(days=10))
    factories.visit(world.ent_park, me, visited_on=clock.today() - timedelta(days=10))
    factories.certification(world.ent_x, "high_tech", issued_on=clock.today() - timedelta(days=3 * 365 - 60))
    db.session.commit()
    login_as(me)
    assert client.get("/").headers["Location"].endswith("/workbench")
    page = text(client.get("/workbench"))
    due = page.split('id="wb-follow-ups"')[1].split("</section>")[0]
    assert "今天回访" in due and "逾期回访" in due and "下月回访" not in due and "别人的跟进" not in due
    assert "逾期需求" in page.split('id="wb-needs"')[1].split("</section>")[0]
    stale = page.split('id="wb-stale"')[1].split("</section>")[0]
    assert world.ent_x.name in stale and world.ent_park.name not in stale
    assert world.ent_x.name in page.split('id="wb-expiring"')[1].split("</section>")[0]


@pytest.mark.parametrize("url", ["/workbench", "/needs?owner=", "/follow-ups?state=all", "/enterprises/{ent}/timeline"])
def test_pages_run_a_fixed_number_of_queries(client, login_as, world, served, db, url):
    """No N+1: ten times the records cost no extra query."""
    me = served["officer_x"]
    url = url.format(ent=world.ent_x.id)

    def add(n):
        for i in range(n):
            visit = factories.visit(world.ent_x, me, visited_on=clock.today() - timedelta(days=100 + i))
            need = factories.need(world.ent_x, owner=me, visit=visit, raised_on=clock.today() - timedelta(days=20),
                                  due_on=clock.today() - timedelta(days=i % 3))
            factories.follow_up(world.ent_x, me, need=need, due_on=clock.today() - timedelta(days=i % 2))
        db.session.commit()

    login_as(me)
    add(2)
    few = count_queries(client, url)
    add(18)
    assert count_queries(client, url) == few


def test_needs_board_counts_by_category_and_status(client, login_as, world, served, db):
    for status in ("open", "open", "in_progress"):
        factories.need(world.ent_x, owner=served["officer_x"], category="talent", status=status)
    factories.need(world.ent_x, category="finance", status="resolved", resolution="ok", closed_on=clock.today())
    factories.need(world.ent_z, category="talent")  # another city: not in the manager's scope
    db.session.commit()
    login_as(served["manager"])
    page = text(client.get("/needs?status="))
    board = page.split('id="needs-board"')[1].split("</table>")[0]
    talent_row = re.search(r'<tr data-category="talent"[^>]*><td>[^<]*</td>(.*?)</tr>', board, re.S).group(1)
    assert re.findall(r">(\d+)<", talent_row) == ["2", "1", "0", "0", "0", "3"]
    listed = page.split('id="needs-list"')[1]
    assert listed.count("/needs/") == 4


def test_officers_see_their_own_needs_by_default(client, login_as, world, served, db):
    factories.need(world.ent_x, owner=served["officer_x"], title="我的需求")
    factories.need(world.ent_x, owner=served["officer_x2"], title="同事的需求")
    db.session.commit()
    login_as(served["officer_x"])
    page = text(client.get("/needs"))
    assert "我的需求" in page and "同事的需求" not in page
    assert "同事的需求" in text(client.get("/needs?owner="))


def test_timeline_merges_every_kind_and_filters(client, login_as, world, served, db):
    me = served["officer_x"]
    factories.visit(world.ent_x, me, summary="走访了解情况")
    need = services.raise_need(world.ent_x, {"category": "ip", "title": "专利布局咨询"}, actor=me)
    services.change_need_status(need, "in_progress", actor=me, version=need.version)
    services.add_follow_up(world.ent_x, {"action": "整理专利清单", "due_on": clock.today()}, actor=me)
    db.session.commit()
    login_as(me)
    page = text(client.get(f"/enterprises/{world.ent_x.id}/timeline"))
    for kind in ("visit", "need", "follow_up", "assignment"):
        assert f'data-kind="{kind}"' in page, kind
    only = text(client.get(f"/enterprises/{world.ent_x.id}/timeline?kind=need"))
    assert 'data-kind="visit"' not in only and "专利布局咨询" in only


def test_load_page_shows_open_needs_and_overdue_follow_ups(client, login_as, world, served, db):
    me = served["officer_x"]
    factories.need(world.ent_x, owner=me)
    factories.need(world.ent_x, owner=me, status="resolved", resolution="ok", closed_on=clock.today())
    factories.follow_up(world.ent_x, me, due_on=clock.today() - timedelta(days=1))
    db.session.commit()
    login_as(served["manager"])
    page = text(client.get("/assignments"))
    row = page.split(f'data-officer="{me.id}"')[1].split("</tr>")[0]
    assert re.search(r'class="load-needs"[^>]*>1<', row) and re.search(r'class="load-overdue[^"]*"[^>]*>1<', row)


def test_departments_admin(client, login_as, db):
    login_as("admin")
    assert client.post("/admin/departments/new", data={"name": "科技局", "position": "3", "active": "y"}
                       ).status_code == 303
    r = client.post("/admin/departments/new", data={"name": "科技局", "position": "1", "active": "y"})
    assert r.status_code == 422
    assert count(db, Department) == 1


def test_a_readiness_gap_offers_a_coaching_follow_up_to_officers_only(client, login_as, world, served, db):
    factories.figures(world.ent_x, clock.today().year - 1)
    db.session.commit()
    url = f"/enterprises/{world.ent_x.id}/readiness?tier=high_tech"
    login_as(served["officer_x"])
    page = text(client.get(url))
    link = re.search(r'class="coach-link" href="([^"]+)"', page)
    assert link and "source=readiness" in link.group(1)
    assert client.get(link.group(1).replace("&amp;", "&")).status_code == 200
    login_as(served["firm"])
    assert "coach-link" not in text(client.get(url))


@pytest.mark.parametrize("status", ["open", "closed", "", "in_progress", "referred"])
@pytest.mark.parametrize("category", ["", "talent"])
def test_the_lists_total_comes_from_the_board_and_matches_the_rows(world, served, db, status, category):
    from crm.service import queries

    for i, (cat, st) in enumerate([("talent", "open"), ("talent", "in_progress"), ("finance", "referred"),
                                   ("talent", "resolved"), ("ip", "open"), ("talent", "cannot_resolve")]):
        factories.need(world.ent_x if i % 2 else world.ent_park, owner=served["officer_x"], category=cat, status=st,
                       raised_on=clock.today() - timedelta(days=30), due_on=clock.today() - timedelta(days=i - 2))
    db.session.commit()
    for overdue in (False, True):
        f = queries.NeedFilter(status=status, category=category, overdue=overdue)
        rows = db.session.scalars(queries.needs_query(served["manager"], f)).unique().all()
        assert queries.needs_total(f, queries.needs_board(served["manager"], f)) == len(rows)
        if f.status == "open" or overdue:
            assert [n.due_on for n in rows] == sorted(n.due_on for n in rows)
