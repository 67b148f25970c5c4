"""督办: the daily job escalates referrals past their deadline to the managers over the need's region (and the
person who referred it), once per escalation level; the overdue list shows them, scoped by region."""
from datetime import date

from sqlalchemy import func, select

from crm.core.workdays import load_calendar
from crm.notify.models import Notification
from crm.referrals.jobs import escalate_overdue, escalation_level
from tests.helpers import text
from tests.referrals.conftest import refer


def _count(db, kind="referral_escalation", user=None):
    stmt = select(func.count()).select_from(Notification).where(Notification.kind == kind)
    if user is not None:
        stmt = stmt.where(Notification.user_id == user.id)
    return db.session.scalar(stmt)


def test_levels_count_working_days_late(db, people):
    cal = load_calendar()
    due = date(2026, 9, 30)
    assert escalation_level(due, date(2026, 9, 30), 5, cal) == 0
    assert escalation_level(due, date(2026, 10, 7), 5, cal) == 0  # 国庆: no working day has passed
    assert escalation_level(due, date(2026, 10, 8), 5, cal) == 1
    assert escalation_level(due, date(2026, 10, 13), 5, cal) == 1  # Oct 8, 9, 10, 12, 13: five days late
    assert escalation_level(due, date(2026, 10, 14), 5, cal) == 2


def test_overdue_referrals_escalate_once_per_level(db, people):
    referral = refer(people.need, people.officer, people.tax)  # due 2026-10-19
    assert escalate_overdue(date(2026, 10, 19)) and _count(db) == 0  # not late on its due day
    escalate_overdue(date(2026, 10, 20))
    db.session.commit()
    db.session.refresh(referral)
    assert referral.escalation_level == 1 and referral.escalated_on == date(2026, 10, 20)
    assert _count(db, user=people.manager) == 1 and _count(db, user=people.officer) == 1  # the referrer
    assert _count(db, user=people.manager_other) == 0 and _count(db, user=people.tax_user) == 0
    escalate_overdue(date(2026, 10, 20))  # run again the same day
    escalate_overdue(date(2026, 10, 21))  # next day, same level
    db.session.commit()
    assert _count(db) == 2
    escalate_overdue(date(2026, 10, 27))  # six working days late: level 2
    db.session.commit()
    db.session.refresh(referral)
    assert referral.escalation_level == 2 and _count(db) == 4


def test_answered_or_extended_referrals_are_not_escalated(db, people):
    from crm.referrals import services

    referral = refer(people.need, people.officer, people.tax)
    services.extend_referral(referral, 5, "核实中", actor=people.tax_user)
    db.session.commit()
    escalate_overdue(date(2026, 10, 21))  # within the new deadline (Oct 26)
    assert _count(db) == 0
    services.answer_referral(referral, "已办理", actor=people.tax_user)
    db.session.commit()
    escalate_overdue(date(2026, 11, 30))
    assert _count(db) == 0


def test_the_overdue_list_is_scoped_by_region(client, login_as, db, people):
    refer(people.need, people.officer, people.tax)
    escalate_overdue(date(2026, 10, 20))
    db.session.commit()
    login_as(people.manager)
    assert "研发费用加计扣除申报辅导" in text(client.get("/referrals/overdue"))
    login_as(people.manager_other)
    assert "研发费用加计扣除申报辅导" not in text(client.get("/referrals/overdue"))
    login_as(people.officer)
    assert client.get("/referrals/overdue").status_code == 403


def test_the_job_is_registered(app):
    from crm.notify.scheduler import job_by_id

    assert job_by_id("referrals.escalate_overdue") is not None
