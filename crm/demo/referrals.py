"""Demo data of needs closed across departments: the 2026 working-day calendar, two department accounts
(税务局 and 人社局 contacts), the story's referrals dated to the day they were made, answered when old, and a few
referrals of the showcase region in every state (awaiting, overdue, more time, answered, sent back, resolved with
a call-back, reopened after one); the call-backs of needs resolved long ago done as the story's satisfaction says.

Skipped when the department accounts exist (the load is idempotent)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from crm.auth.models import User
from crm.core.policy import Role
from crm.core.workdays import add_working_days, load_calendar
from crm.demo import calendar as demo_calendar
from crm.demo.accounts import PasswordHash
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import subtree_ids
from crm.extensions import db
from crm.referrals import queries as referral_queries
from crm.referrals import services
from crm.referrals.models import NeedCallback, Referral, ReferralStatus
from crm.service import services as service_services
from crm.service.models import FollowUp, FollowUpSource, Need, NeedStatus

# (user name, name, phone, department): the README's demo accounts table names them
DEPARTMENT_ACCOUNTS = (
    ("dept_tax", "刘税政", "0951-5010101", "税务局"),
    ("dept_hr", "陈人社", "0951-5020202", "人力资源和社会保障局"),
)
ANSWERS = {
    "税务局": "已安排专管员上门辅导研发费用加计扣除申报，企业已按要求完成备案，预计本季度可享受优惠。",
    "人力资源和社会保障局": "已将企业岗位需求纳入本月专场招聘会，并对接两所高校就业指导中心，企业可按流程申领稳岗补贴。",
}
SHOWCASE_REGION = "640100"


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, tzinfo=UTC)  # noon in Asia/Shanghai


def _accounts(departments: dict[str, int]) -> dict[str, User]:
    password_hash, users = PasswordHash(), {}
    for username, name, phone, department in DEPARTMENT_ACCOUNTS:
        user = User(username=username, name=name, role=Role.DEPARTMENT, phone=phone,
                    email=f"{username}@example.com", department_id=departments[department],
                    password_hash=password_hash(), active=True)
        db.session.add(user)
        users[department] = user
    db.session.flush()
    return users


def _date_story_referrals(today: date, calendar) -> int:
    """The story referred needs on the day it closed them; its referrals older than a month are answered."""
    n = 0
    for referral in db.session.scalars(select(Referral).join(Need, Need.id == Referral.need_id)
                                       .where(Referral.closed_at.is_(None))):
        need = referral.need
        referral.referred_on = need.closed_on or need.raised_on
        referral.due_on = add_working_days(referral.referred_on, 10, calendar)
        referral.created_at = referral.updated_at = _noon(referral.referred_on)
        if referral.due_on < today - timedelta(days=20):
            answered_on = referral.referred_on + timedelta(days=(need.id % 9) + 2)
            referral.status, referral.answer = ReferralStatus.ANSWERED, ANSWERS.get(
                referral.department.name, "已按职责办理，办理结果已电话告知企业。")
            referral.answered_at = _noon(min(answered_on, today))
        n += 1
    return n


def _settle_old_callbacks(today: date, calendar) -> int:
    """Call-backs of needs resolved more than a week ago were made: done, with the story's satisfaction."""
    rows = db.session.execute(
        select(FollowUp, Need).join(Need, Need.id == FollowUp.need_id)
        .where(FollowUp.source == FollowUpSource.CALLBACK, FollowUp.done_at.is_(None),
               Need.closed_on < today - timedelta(days=7))).all()
    for follow_up, need in rows:
        called = add_working_days(need.closed_on, 2, calendar)
        follow_up.due_on = add_working_days(need.closed_on, 3, calendar)
        follow_up.created_at = follow_up.updated_at = _noon(need.closed_on)
        follow_up.done_at, follow_up.done_by_id = _noon(called), follow_up.assignee_id
        score = need.satisfaction or 4
        follow_up.done_note = "企业表示满意" if score >= 3 else "企业认为办理效果一般"
        db.session.add(NeedCallback(need_id=need.id, follow_up_id=follow_up.id, satisfied=score >= 3,
                                    satisfaction=score, note=follow_up.done_note, recorded_by_id=follow_up.assignee_id,
                                    recorded_at=_noon(called)))
        need.satisfaction = score
    return len(rows)


def _open_needs(region_id: int, category: str | None, limit: int) -> list[Need]:
    stmt = select(Need).where(Need.category == category) if category else select(Need)
    return list(db.session.scalars(
        stmt.join(Enterprise, Enterprise.id == Need.enterprise_id)
        .where(Need.status.in_((NeedStatus.OPEN, NeedStatus.IN_PROGRESS)),
               Enterprise.region_id.in_(subtree_ids(region_id)), Enterprise.archived_at.is_(None),
               Need.owner_id.is_not(None))
        .order_by(Need.raised_on, Need.id).limit(limit)))


def _showcase(today: date, users: dict[str, User], departments: dict[str, int]) -> int:
    """Per department, referrals of the showcase city in each state, made through the services."""
    from crm.enterprises.models import Region

    city = db.session.scalar(select(Region).where(Region.code == SHOWCASE_REGION))
    if city is None:
        return 0
    made = 0
    for department, category in (("税务局", "policy"), ("人力资源和社会保障局", "talent")):
        contact = users[department]
        needs = _open_needs(city.id, category, 6)
        if len(needs) < 6:  # too few of its own category open: any other open need of the city
            taken = {n.id for n in needs}
            needs += [n for n in _open_needs(city.id, None, 20) if n.id not in taken][:6 - len(needs)]
        for step, need in enumerate(needs):
            owner = need.owner
            service_services.change_need_status(
                need, NeedStatus.REFERRED, actor=owner, department_id=departments[department],
                resolution=f"该事项属{department}职责，请协助办理并答复企业。")
            referral = referral_queries.open_referral(need)
            made += 1
            if step == 0:  # overdue: referred three weeks ago, no answer (the escalation job picks it up)
                referral.referred_on = today - timedelta(days=21)
                referral.due_on = add_working_days(referral.referred_on, 10)
            elif step == 1:
                services.extend_referral(referral, 5, "需会同相关科室核实企业申报材料，申请延期五个工作日。",
                                         actor=contact)
            elif step == 2:
                services.answer_referral(referral, ANSWERS[department], actor=contact)
            elif step == 3:
                services.return_referral(referral, "该事项不属本部门职责范围，建议转园区管委会办理。", actor=contact)
            elif step == 4:  # answered, resolved by its owner, the call-back says not satisfied: reopened
                services.answer_referral(referral, ANSWERS[department], actor=contact)
                service_services.change_need_status(need, NeedStatus.RESOLVED, actor=owner,
                                                    resolution="部门已答复，企业已按指引办理。",
                                                    outcome={"people_recruited": 3} if category == "talent" else {})
                services.record_callback(need, {"satisfied": False, "satisfaction": 2,
                                                "note": "企业反映实际办理进度慢，要求继续跟进。"}, actor=owner)
            # step 5: awaiting the department's answer, in time
    return made


def load_referrals(today: date) -> dict[str, int]:
    """The calendar, the department accounts and the referrals' states (flushes; the caller commits)."""
    calendar_days = demo_calendar.load_calendar(db.session)
    if db.session.scalar(select(User.id).where(User.username == DEPARTMENT_ACCOUNTS[0][0])) is not None:
        return {"calendar days": calendar_days, "department accounts": 0, "referrals": 0}
    from crm.service.models import Department

    departments = {d.name: d.id for d in db.session.scalars(select(Department))}
    if any(d not in departments for _u, _n, _p, d in DEPARTMENT_ACCOUNTS):
        return {"calendar days": calendar_days, "department accounts": 0, "referrals": 0}
    calendar = load_calendar()
    users = _accounts(departments)
    dated = _date_story_referrals(today, calendar)
    callbacks = _settle_old_callbacks(today, calendar)
    made = _showcase(today, users, departments)
    db.session.flush()
    return {"calendar days": calendar_days, "department accounts": len(users), "referrals": dated + made,
            "call-backs": callbacks}
