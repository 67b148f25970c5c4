"""Demo data of tags, partners and events (issue 12): two tags by rule refreshed over the figures and a manual
one on the showcase officer's enterprises; banks, a university, a service firm and a 科技特派员 of 银川市 with
referrals of finance and technology needs (consent recorded, outcomes at several steps); last month's policy
briefing with its sign-ups and attendance (the attendees informed of the policies presented).
Each part is skipped when it is there already, so loading twice changes nothing."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, select

from crm.auth.models import User
from crm.enterprises.models import Enterprise, Region
from crm.enterprises.queries import subtree_ids
from crm.events import services as event_services
from crm.events.models import Event
from crm.extensions import db
from crm.partners import services as partner_services
from crm.partners.models import Partner
from crm.policies.models import Policy
from crm.service.models import OPEN_NEED_STATUSES, Assignment, Need
from crm.tags import services as tag_services
from crm.tags.models import EnterpriseTag, Tag

CITY = "640100"
RULE_TAGS = [
    ("研发高增长", {"growth_field": "rd_expense", "min_growth_pct": "20"}),
    ("专精特新", {"min_revenue": "2000", "min_rd_ratio": "5", "min_tech_staff_ratio": "15"}),
]
PARTNERS = [
    ("宁夏银行银川分行", "bank", "马经理", "0951-5168888", ["finance"]),
    ("建设银行宁夏分行科技支行", "bank", "杨经理", "0951-4106666", ["finance"]),
    ("宁夏大学技术转移中心", "university", "刘老师", "0951-2061234", ["technology", "cooperation", "commercialisation"]),
    ("宁夏知源知识产权代理有限公司", "service_firm", "周工", "0951-6023456", ["ip", "certification"]),
    ("科技特派员 何建国", "tech_commissioner", "何建国", "13909511234", ["technology", "talent"]),
]


def _tags(city: Region, manager: User, officer: User | None) -> int:
    if db.session.scalar(select(Tag.id).limit(1)) is not None:
        return 0
    created = 0
    for name, conditions in RULE_TAGS:
        tag = tag_services.create_tag({"name": name, "region_id": None, "kind": "rule"}, conditions, actor=manager)
        tag_services.refresh_rule_tag(tag, actor=manager)
        created += 1
    key = tag_services.create_tag({"name": "重点关注", "region_id": city.id, "kind": "manual"}, actor=manager)
    tag_services.create_tag({"name": "拟上市", "region_id": city.id, "kind": "manual"}, actor=manager)
    created += 2
    if officer is not None:
        served = db.session.scalars(select(Enterprise).join(Assignment, and_(
            Assignment.enterprise_id == Enterprise.id, Assignment.ends_on.is_(None))).where(
            Assignment.officer_id == officer.id).order_by(Enterprise.name).limit(3))
        for enterprise in served:
            tag_services.tag_enterprise(enterprise, key, actor=officer)
    return created


def _partners(city: Region, manager: User, today: date) -> tuple[int, int]:
    if db.session.scalar(select(Partner.id).limit(1)) is not None:
        return 0, 0
    partners = {}
    for name, kind, contact, phone, specialities in PARTNERS:
        partners[kind if kind not in partners else f"{kind}2"] = partner_services.create_partner(
            {"name": name, "kind": kind, "region_id": city.id, "contact_name": contact, "phone": phone,
             "specialities": specialities}, actor=manager)
    needs = list(db.session.scalars(
        select(Need).join(Enterprise, Enterprise.id == Need.enterprise_id)
        .where(Need.status.in_(OPEN_NEED_STATUSES), Need.category.in_(["finance", "technology"]),
               Enterprise.region_id.in_(subtree_ids(city.id)))
        .order_by(Need.raised_on, Need.id).limit(8)))
    # how far each referral got: (status steps after proposed, loan 万元, contract 万元, note)
    stories = [(3, Decimal("500"), None, "获批科技贷款500万元"), (3, Decimal("300"), None, "知识产权质押贷款300万元"),
               (2, None, None, ""), (1, None, None, ""), (0, None, None, ""),
               (-1, None, None, "企业暂无抵押物，授信未通过"), (3, None, Decimal("80"), "签订技术开发合同80万元"),
               (0, None, None, "")]
    made = 0
    for need, (steps, loan, contract, note) in zip(needs, stories, strict=False):
        partner = partners["bank" if need.category == "finance" and made % 2 == 0 else
                           "bank2" if need.category == "finance" else "university"]
        on = max(need.raised_on, today - timedelta(days=60 - made * 5))
        # the need's owner (its officer) refers it and records the enterprise's consent
        officer = need.owner or manager
        referral = partner_services.refer_need(need, partner, consent_by="企业负责人", consent_on=on,
                                               consent_mode="in_person" if made % 2 else "phone", actor=officer,
                                               today=min(on, today))
        path = ["accepted", "in_progress", "succeeded"]
        if steps < 0:
            partner_services.move_referral(referral, "failed", actor=officer, outcome_note=note, today=today)
        for status in path[:max(steps, 0)]:
            partner_services.move_referral(referral, status, actor=officer, today=today, loan_amount=loan,
                                           contract_amount=contract, outcome_note=note)
        made += 1
    return len(partners), made


def _events(city: Region, manager: User, today: date) -> tuple[int, int]:
    if db.session.scalar(select(Event.id).limit(1)) is not None:
        return 0, 0
    policies = list(db.session.scalars(select(Policy).where(Policy.active.is_(True)).order_by(Policy.id).limit(2)))
    held = (today.replace(day=1) - timedelta(days=1)).replace(day=15)
    briefing = event_services.create_event({"kind": "briefing", "topic": "科技惠企政策宣讲会", "held_on": held,
                                            "place": "银川市科技局三楼会议室", "region_id": city.id,
                                            "note": "邀请辖区科技型中小企业负责人和财务负责人参加。"},
                                           policies, actor=manager)
    event_services.create_event({"kind": "training", "topic": "高新技术企业认定申报实务培训",
                                 "held_on": today + timedelta(days=20), "place": "银川经济技术开发区管委会",
                                 "region_id": city.id, "note": ""}, policies[:1], actor=manager)
    enterprises = list(db.session.scalars(select(Enterprise).where(
        Enterprise.region_id.in_(subtree_ids(city.id)), Enterprise.archived_at.is_(None)).order_by(
        Enterprise.name).limit(12)))
    attendees = [event_services.sign_up(briefing, e, actor=manager, person="财务负责人") for e in enterprises]
    event_services.record_attendance(briefing, attendees, {a.id for a in attendees[:9]}, actor=manager)
    return 2, len(attendees)


def load_outreach(today: date) -> dict[str, int]:
    """Tags, partners with referrals, events with attendance (flushes; the caller commits)."""
    city = db.session.scalar(select(Region).where(Region.code == CITY))
    manager = db.session.scalar(select(User).where(User.username == "manager"))
    if city is None or manager is None:
        return {}
    officer = db.session.scalar(select(User).where(User.username == "officer"))
    tags = _tags(city, manager, officer)
    partners, referrals = _partners(city, manager, today)
    events, sign_ups = _events(city, manager, today)
    db.session.flush()
    tagged = db.session.query(EnterpriseTag).count()
    return {"tags": tags, "enterprise tags (all)": tagged if tags else 0, "partners": partners,
            "partner referrals": referrals, "events": events, "event sign-ups": sign_ups}
