"""People and a fixed day for the referral tests: today is Tuesday 2026-09-29, just before 国庆."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from crm.auth.models import User
from crm.core import clock
from crm.demo.calendar import load_calendar
from crm.service.models import Department, Need
from tests import factories

TODAY = date(2026, 9, 29)


@dataclass
class People:
    officer: User
    officer_other: User
    manager: User
    manager_other: User
    tax: Department
    hr: Department
    tax_user: User
    hr_user: User
    need: Need


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)
    return TODAY


@pytest.fixture
def people(world, db, today) -> People:
    load_calendar(db.session)
    officer = factories.user("officer", region=world.county_x, name="赵丽娟", serves=[world.ent_x], locale="en")
    tax, hr = factories.department("区税务局"), factories.department("区人社局")
    p = People(
        officer=officer,
        officer_other=factories.user("officer", region=world.county_x, name="孙建国", locale="en"),
        manager=factories.user("manager", region=world.city, name="王经理", locale="en"),
        manager_other=factories.user("manager", region=world.other_city, name="石经理", locale="en"),
        tax=tax, hr=hr,
        tax_user=factories.user("department", department_id=tax.id, name="刘税政", locale="en"),
        hr_user=factories.user("department", department_id=hr.id, name="陈人社", locale="en"),
        need=factories.need(world.ent_x, owner=officer, title="研发费用加计扣除申报辅导", category="policy",
                            description="企业首次申报研发费用加计扣除，需要税务部门辅导。", status="in_progress",
                            raised_on=date(2026, 9, 20)),
    )
    db.session.commit()
    return p


def refer(need, officer, department, note="请协助辅导加计扣除申报"):
    """Refer the need through the service (as the status form does)."""
    from crm.extensions import db
    from crm.service.services import change_need_status

    change_need_status(need, "referred", actor=officer, department_id=department.id, resolution=note)
    db.session.commit()
    from crm.referrals.queries import open_referral

    return open_referral(need)
