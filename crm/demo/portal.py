"""Demo portal: contacts of several enterprises with accounts, their requests with comments, submissions.

The `enterprise` account (the showcase) and four more contacts (`enterprise2` … `enterprise5`) of
enterprises served by the demo `officer`; each raised a request in the portal that its officer answered
with a comment (and an internal note), and submitted figures: pending for most (the officer's review
list has work), one returned with a comment, one pending IP item. Written through the services, as the
contacts and the officer would; once only (when the demo enterprises have submissions, nothing is added).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, func, select

from crm.auth.models import User
from crm.core.policy import Role
from crm.demo.registry import Tally
from crm.enterprises.models import AMOUNT_FIELDS, AnnualFigures, Contact, Enterprise
from crm.portal import services as portal_services
from crm.portal.models import Submission
from crm.portal.queries import VALUE_FIELDS
from crm.service import services as service_services
from crm.service.models import Assignment, Need, NeedComment

EXTRA_CONTACTS = 4  # enterprise2 … enterprise5

# (category, title, description, the officer's answer, the officer's internal note, the contact's reply)
REQUESTS = (
    ("certification", "申请高企认定前想请专员帮看研发费用归集", "今年打算申报国家高新技术企业，研发费用辅助账不太会做。",
     "已收到，下周二上门帮您梳理研发费用辅助账。", "该企业研发费用占比接近门槛，重点辅导。", "好的，我们财务届时在。"),
    ("finance", "想了解科技型企业知识产权质押贷款", "有两项发明专利，想质押融资300万元用于扩产。",
     "已联系合作银行，客户经理会在三个工作日内与您联系。", "银行反馈需先做专利价值评估。", "谢谢，等银行电话。"),
    ("talent", "研发人员住房补贴怎么申请", "新招了三名硕士研发人员，想问人才公寓和住房补贴政策。",
     "人才公寓本月开放申请，材料清单已发到您邮箱。", "转人社局确认补贴标准。", "收到，材料准备中。"),
    ("policy", "研发费用加计扣除政策咨询", "今年第一次享受加计扣除，想确认预缴申报时能不能享受。",
     "可以在10月预缴时享受前三季度的加计扣除，申报表填写说明已附上。", "", "明白了，谢谢！"),
    ("platform", "想申报市级工程技术研究中心", "公司有独立研发场地和十余名研发人员，想了解申报条件。",
     "今年申报通知预计下月发布，届时第一时间告知，并协助准备材料。", "条件基本满足，研发场地面积需核实。", "好的。"),
)


@dataclass
class PortalTallies:
    """What the portal step created."""

    submissions: Tally = field(default_factory=Tally)
    comments: Tally = field(default_factory=Tally)


def _contact_user(session, enterprise: Enterprise, username: str, password_hash, tally: Tally) -> User:
    user = session.scalar(select(User).where(func.lower(User.username) == username))
    if user is not None:
        tally.existing += 1
        return user
    contact = session.scalar(select(Contact).where(Contact.enterprise_id == enterprise.id)
                             .order_by(Contact.is_primary.desc(), Contact.id))
    user = User(username=username, name=contact.name if contact else f"{enterprise.name[:4]}联系人",
                role=Role.ENTERPRISE, phone=contact.phone if contact else "", email=f"{username}@example.com",
                enterprise_id=enterprise.id, password_hash=password_hash(), active=True)
    session.add(user)
    session.flush()
    tally.created += 1
    return user


def _served_by(session, officer: User, exclude: int, n: int) -> list[Enterprise]:
    """The first `n` operating enterprises the officer serves (by USCC), the showcase left out."""
    return list(session.scalars(
        select(Enterprise).join(Assignment, and_(Assignment.enterprise_id == Enterprise.id,
                                                 Assignment.ends_on.is_(None)))
        .where(Assignment.officer_id == officer.id, Enterprise.id != exclude, Enterprise.archived_at.is_(None),
               Enterprise.status == "active")
        .order_by(Enterprise.uscc).limit(n)))


def _figures_with_changes(latest: AnnualFigures, index: int) -> dict:
    """The latest year's figures with the changes a contact would submit (R&D up, a few more staff)."""
    data = {"year": latest.year, **{name: getattr(latest, name) for name in VALUE_FIELDS}}
    if data["rd_expense"] is not None:
        extra = (data["rd_expense"] * Decimal("0.08") * (index + 1)).quantize(Decimal("0.01"))
        data["rd_expense"] += extra
        if data["rd_expense_domestic"] is not None:
            data["rd_expense_domestic"] += extra
    if data["employees"] is not None:
        data["employees"] += 2 + index
        if data["tech_staff"] is not None:
            data["tech_staff"] += 1 + index
    for name in AMOUNT_FIELDS:
        if data.get(name) is not None:
            data[name] = Decimal(data[name]).quantize(Decimal("0.01"))
    return data


def load_portal(session, showcase_user: User, password_hash, users_tally: Tally, tallies: PortalTallies) -> None:
    """Contacts with accounts, their requests and comments, and submissions; once only."""
    officer = session.scalar(select(User).where(User.username == "officer"))
    showcase = showcase_user.enterprise
    if officer is None or showcase is None:
        return
    enterprises = [showcase, *_served_by(session, officer, showcase.id, EXTRA_CONTACTS)]
    contacts = [showcase_user] + [
        _contact_user(session, e, f"enterprise{i}", password_hash, users_tally)
        for i, e in enumerate(enterprises[1:], start=2)]
    ids = [e.id for e in enterprises]
    existing = session.scalar(select(func.count()).select_from(Submission).where(Submission.enterprise_id.in_(ids)))
    if existing:
        tallies.submissions.existing += existing
        tallies.comments.existing += session.scalar(select(func.count()).select_from(NeedComment).join(
            Need, Need.id == NeedComment.need_id).where(Need.enterprise_id.in_(ids))) or 0
        return
    for index, (enterprise, contact) in enumerate(zip(enterprises, contacts, strict=True)):
        category, title, description, answer, note, reply = REQUESTS[index % len(REQUESTS)]
        need = service_services.raise_need(enterprise, {"category": category, "title": title,
                                                        "description": description}, actor=contact)
        owner = need.owner or officer
        for body, visible, actor in ((answer, True, owner), (note, False, owner), (reply, True, contact)):
            if body:
                service_services.add_need_comment(need, body, actor=actor, visible_to_enterprise=visible)
                tallies.comments.created += 1
        latest = session.scalar(select(AnnualFigures).where(AnnualFigures.enterprise_id == enterprise.id)
                                .order_by(AnnualFigures.year.desc()))
        if latest is None:
            continue
        sub = portal_services.submit_figures(enterprise, _figures_with_changes(latest, index), actor=contact)
        tallies.submissions.created += 1
        if index == 2:  # one sent back with a comment: the contact sees what to correct
            portal_services.return_submission(sub, "研发人员人数请与社保缴纳名单核对后重新提交。", actor=owner)
    if len(enterprises) > 1:  # and one patent reported, waiting for the officer
        portal_services.submit_ip(enterprises[1], {
            "kind": "utility_model", "title": "一种便于维护的设备防护罩", "number": "ZL202420000001.5",
            "granted_on": None, "is_valid": True, "used_in_earlier_application": False}, actor=contacts[1])
        tallies.submissions.created += 1
    session.flush()
