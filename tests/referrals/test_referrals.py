"""The referral lifecycle: a deadline in working days, the department answers, asks for more time or sends the
need back; everything audited and on the need's history; the department sees its own referrals only."""
from datetime import date

from sqlalchemy import select

from crm.core.audit import AuditEvent
from crm.notify.models import Notification
from crm.referrals.models import Referral
from tests.helpers import text
from tests.referrals.conftest import refer


def _notes(db, user, kind):
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id,
                                                              Notification.kind == kind)))


def test_referring_sets_the_deadline_in_working_days_and_tells_the_department(db, people):
    referral = refer(people.need, people.officer, people.tax)
    # Tuesday 29 Sep + 10 working days: Sep 30, Oct 8, 9, 10 (Sat, worked), 12–16, 19
    assert (referral.referred_on, referral.due_on) == (date(2026, 9, 29), date(2026, 10, 19))
    assert referral.status == "pending" and referral.department_id == people.tax.id
    assert referral.note == "请协助辅导加计扣除申报"
    assert len(_notes(db, people.tax_user, "referral_new")) == 1
    assert _notes(db, people.hr_user, "referral_new") == []
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "referrals"))
    assert event.action == "create" and event.enterprise_id == people.need.enterprise_id


def test_the_deadline_follows_the_configured_working_days(app, db, people):
    app.config["REFERRAL_WORKING_DAYS"] = 3
    try:
        referral = refer(people.need, people.officer, people.tax)
    finally:
        app.config["REFERRAL_WORKING_DAYS"] = 10
    assert referral.due_on == date(2026, 10, 9)  # Sep 30, Oct 8, Oct 9


def test_department_answers_the_owner_decides(client, login_as, db, people):
    referral = refer(people.need, people.officer, people.tax)
    login_as(people.tax_user)
    page = client.get(f"/department/referrals/{referral.id}")
    assert page.status_code == 200
    body = text(page)
    assert "兴庆智能装备有限公司" in body and "企业首次申报研发费用加计扣除" in body and "请协助辅导加计扣除申报" in body
    assert client.post(f"/department/referrals/{referral.id}/answer", data={"answer": ""}).status_code == 422
    response = client.post(f"/department/referrals/{referral.id}/answer",
                           data={"answer": "已安排专管员上门辅导，企业已完成备案。"})
    assert response.status_code == 303
    db.session.refresh(referral)
    assert referral.status == "answered" and referral.answered_by_id == people.tax_user.id
    assert referral.need.status == "referred"  # back with its owner as answered; the owner decides
    assert len(_notes(db, people.officer, "referral_answered")) == 1
    # answering twice is refused
    assert client.post(f"/department/referrals/{referral.id}/answer", data={"answer": "again"}).status_code == 422
    # the owner resolves it: the referral closes, a call-back is planned in 3 working days (Sep 30, Oct 8, 9)
    login_as(people.officer)
    need_page = text(client.get(f"/needs/{referral.need_id}"))
    assert "已安排专管员上门辅导，企业已完成备案。" in need_page
    response = client.post(f"/needs/{referral.need_id}/status", data={
        "status": "resolved", "resolution": "部门已辅导，企业完成备案", "version": referral.need.version})
    assert response.status_code == 303
    db.session.refresh(referral)
    assert referral.closed_at is not None
    callback = [f for f in referral.need.follow_ups if f.source == "callback"]
    assert len(callback) == 1 and callback[0].due_on == date(2026, 10, 9)
    assert callback[0].assignee_id == people.officer.id


def test_more_time_moves_the_deadline_and_tells_owner_and_referrer(client, login_as, db, people):
    referral = refer(people.need, people.manager, people.tax)  # a manager referred the officer's need
    login_as(people.tax_user)
    assert client.post(f"/department/referrals/{referral.id}/extend",
                       data={"days": "5", "reason": ""}).status_code == 422
    assert client.post(f"/department/referrals/{referral.id}/extend",
                       data={"days": "99", "reason": "x"}).status_code == 422
    response = client.post(f"/department/referrals/{referral.id}/extend",
                           data={"days": "5", "reason": "需会同征管科核实"})
    assert response.status_code == 303
    db.session.refresh(referral)
    assert referral.due_on == date(2026, 10, 26) and referral.extensions == 1  # Oct 19 + 5 working days
    assert len(_notes(db, people.officer, "referral_extended")) == 1
    assert len(_notes(db, people.manager, "referral_extended")) == 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "extend"))
    assert event.changes["due_on"] == ["2026-10-19", "2026-10-26"]
    assert event.changes["reason"] == [None, "需会同征管科核实"]


def test_sending_back_puts_the_need_in_progress_with_its_owner(client, login_as, db, people):
    referral = refer(people.need, people.officer, people.tax)
    login_as(people.tax_user)
    assert client.post(f"/department/referrals/{referral.id}/return", data={"reason": ""}).status_code == 422
    response = client.post(f"/department/referrals/{referral.id}/return", data={"reason": "不属本部门职责"})
    assert response.status_code == 303
    db.session.refresh(referral)
    need = referral.need
    assert (referral.status, need.status, need.department_id) == ("returned", "in_progress", None)
    assert referral.closed_at is not None and referral.return_reason == "不属本部门职责"
    assert len(_notes(db, people.officer, "referral_returned")) == 1
    # the need's history shows the referral, its return and the status change, in order
    login_as(people.officer)
    history = text(client.get(f"/needs/{need.id}")).split('id="need-history"')[1]
    assert history.index("Referred") < history.index("不属本部门职责")
    # sent back, it is closed: the department can no longer answer it (the officer may not at all)
    assert client.post(f"/department/referrals/{referral.id}/answer", data={"answer": "x"}).status_code == 403
    login_as(people.tax_user)
    assert client.post(f"/department/referrals/{referral.id}/answer", data={"answer": "x"}).status_code == 422


def test_a_department_sees_only_its_own_referrals(client, login_as, db, world, people):
    from tests import factories

    mine = refer(people.need, people.officer, people.tax)
    other_need = factories.need(world.ent_x, owner=people.officer, title="招聘研发人员", category="talent")
    db.session.commit()
    theirs = refer(other_need, people.officer, people.hr)
    login_as(people.tax_user)
    inbox = text(client.get("/department/needs"))
    assert "研发费用加计扣除申报辅导" in inbox and "招聘研发人员" not in inbox
    assert client.get(f"/department/referrals/{theirs.id}").status_code == 404
    assert client.post(f"/department/referrals/{theirs.id}/answer", data={"answer": "x"}).status_code == 404
    db.session.refresh(theirs)
    assert theirs.status == "pending"
    # nothing else of the bureau or the portal
    for url in ("/enterprises", f"/enterprises/{world.ent_x.id}", f"/needs/{mine.need_id}", "/needs", "/workbench",
                "/portal", "/follow-ups", "/policies", "/pipeline", "/referrals/overdue", "/admin/calendar"):
        assert client.get(url).status_code == 403, url
    assert client.get("/").headers["Location"].endswith("/department/needs")
    assert client.get("/api/v1/enterprises").status_code == 403


def test_only_the_department_acts_on_its_referral(db, people):
    import pytest

    from crm.core.validation import ValidationFailed
    from crm.referrals import services

    referral = refer(people.need, people.officer, people.tax)
    for actor in (people.hr_user, people.officer, people.manager):
        with pytest.raises(ValidationFailed):
            services.answer_referral(referral, "x", actor=actor)
    db.session.rollback()
    assert db.session.get(Referral, referral.id).status == "pending"


def test_reopening_a_referred_need_closes_its_referral(db, people):
    from crm.service.services import change_need_status

    referral = refer(people.need, people.officer, people.tax)
    change_need_status(people.need, "in_progress", actor=people.officer)
    db.session.commit()
    db.session.refresh(referral)
    assert referral.closed_at is not None and referral.status == "pending"
    again = refer(people.need, people.officer, people.hr)
    assert again.id != referral.id and again.department_id == people.hr.id


def test_the_department_list_and_the_overdue_list_do_not_grow_with_the_rows(client, login_as, db, world, people):
    from crm.referrals.jobs import escalate_overdue
    from tests import factories
    from tests.helpers import count_queries

    def add(n):
        for i in range(n):
            need = factories.need(world.ent_x, owner=people.officer, title=f"需求{i}", status="referred",
                                  department_id=people.tax.id)
            factories.referral(need, referred_by=people.officer, due_on=date(2026, 9, 1))
        db.session.commit()
        escalate_overdue(date(2026, 9, 29))
        db.session.commit()

    add(2)
    login_as(people.tax_user)
    inbox = count_queries(client, "/department/needs")
    login_as(people.manager)
    overdue = count_queries(client, "/referrals/overdue")
    add(8)
    login_as(people.tax_user)
    assert count_queries(client, "/department/needs") == inbox
    login_as(people.manager)
    assert count_queries(client, "/referrals/overdue") == overdue
