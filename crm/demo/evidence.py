"""Demo evidence: visit plans for this month and next, joint visits with the city's manager and departments,
check-ins on recent on-site visits, a few small generated photos, and a recent visit by the manager to an
enterprise the officer plans to visit (so the 14-day warning shows). Written once: when a demo officer has a
plan already, the step adds nothing.
"""
from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from crm.auth.models import User
from crm.core import clock
from crm.core.policy import Role
from crm.demo.registry import Tally
from crm.evidence import queries, services
from crm.evidence.models import CheckIn, VisitPlan
from crm.service import services as service_services
from crm.service.models import Assignment, Department, Visit, VisitMode

PURPOSES = ("高企申报辅导", "了解研发投入和研发费用归集", "科技型中小企业评价入库", "知识产权布局沟通", "融资需求对接",
            "回访上月提出的用工需求", "瞪羚企业培育摸底", "政策宣讲：研发费用加计扣除", "产学研合作对接", "年度数据核实")
# Around 银川 (the demo's bureau): check-ins are scattered a few kilometres from here.
CENTRE = (Decimal("38.487193"), Decimal("106.230909"))


@dataclass
class EvidenceTallies:
    """Rows of the evidence demo."""

    plans: Tally = field(default_factory=Tally)
    joint: Tally = field(default_factory=Tally)
    check_ins: Tally = field(default_factory=Tally)
    attachments: Tally = field(default_factory=Tally)


def png_bytes(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small PNG of one colour with a lighter band (a stand-in for a photo: no binary files in the repository)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    light = bytes(min(255, c + 80) for c in rgb)
    rows = [b"\x00" + (light if height // 3 <= y < height // 2 else bytes(rgb)) * width for y in range(height)]
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


def _at(day: date, hour: int, minute: int) -> datetime:
    """A local time of the bureau as UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=clock.zone()).astimezone(UTC)


def load_evidence(session, enterprise_ids: list[int], today: date, tallies: EvidenceTallies) -> None:
    """Plans, joint visits, check-ins and photos for the demo officers; once only."""
    officers = list(session.scalars(select(User).where(User.role == Role.OFFICER, User.active.is_(True))
                                    .order_by(User.username)))
    existing = session.scalar(select(func.count()).select_from(VisitPlan).where(
        VisitPlan.officer_id.in_([o.id for o in officers]))) if officers else 0
    if existing or not officers:
        tallies.plans.existing += existing or 0
        return
    manager = session.scalar(select(User).where(User.username == "manager"))
    departments = list(session.scalars(select(Department).where(Department.active.is_(True))
                                       .order_by(Department.position, Department.id)))
    this_month = queries.month_start(today)
    next_month = queries.next_month(this_month)
    for officer in officers:
        rng = random.Random(zlib.crc32(f"evidence:{officer.username}".encode()))
        mine = list(session.scalars(select(Assignment.enterprise_id).where(
            Assignment.officer_id == officer.id, Assignment.ends_on.is_(None),
            Assignment.enterprise_id.in_(enterprise_ids)).order_by(Assignment.enterprise_id)))
        if not mine:
            continue
        visited = list(session.scalars(select(Visit.enterprise_id).where(
            Visit.officer_id == officer.id, Visit.visited_on >= this_month).distinct()))
        # this month: most of what was visited was planned, plus a few still to do
        planned_now = visited[: max(1, len(visited) * 2 // 3)] + rng.sample(mine, min(4, len(mine)))
        for enterprise_id in dict.fromkeys(planned_now):
            _plan(session, officer, enterprise_id, this_month, today, rng, tallies)
        for enterprise_id in rng.sample(mine, min(8, len(mine))):
            _plan(session, officer, enterprise_id, next_month, today, rng, tallies)
        _joint_visits(session, officer, manager, departments, today, rng, tallies)
        _check_ins(session, officer, today, rng, tallies)
    _recent_visit_by_the_manager(session, manager, today, tallies)
    session.flush()


def _plan(session, officer, enterprise_id, month, today, rng, tallies) -> None:
    from crm.enterprises.models import Enterprise

    enterprise = session.get(Enterprise, enterprise_id)
    day = None
    if rng.random() < 0.5:
        last = (queries.next_month(month) - timedelta(days=1)).day
        day = month.replace(day=rng.randint(1, last))
    week = None if day else rng.choice((None, 1, 2, 3, 4))
    services.plan_visit(enterprise, {"month": month, "planned_on": day, "planned_week": week,
                                     "purpose": rng.choice(PURPOSES)}, actor=officer)
    tallies.plans.created += 1


def _joint_visits(session, officer, manager, departments, today, rng, tallies) -> None:
    """Three recent on-site visits made with the city's manager and one or two departments."""
    if manager is None:
        return
    recent = list(session.scalars(select(Visit).where(
        Visit.officer_id == officer.id, Visit.mode == VisitMode.ONSITE, Visit.visited_on >= today - timedelta(days=60))
        .order_by(Visit.visited_on.desc(), Visit.id.desc()).limit(12)))
    for visit in rng.sample(recent, min(3, len(recent))):
        from crm.service.queries import may_take

        if not may_take(manager, visit.enterprise):
            continue
        chosen = rng.sample(departments, min(len(departments), rng.randint(1, 2)))
        services.set_joint(visit, [manager.id], [d.id for d in chosen], actor=officer)
        services.match_visit(visit, actor=officer)
        tallies.joint.created += 1
        if tallies.attachments.created < 6:
            colour = rng.choice(((46, 125, 50), (21, 101, 192), (191, 54, 12)))
            services.store_bytes("visit", visit, f"走访现场-{visit.visited_on:%m%d}.png", png_bytes(96, 64, colour),
                                 actor=officer)
            tallies.attachments.created += 1


def _check_ins(session, officer, today, rng, tallies) -> None:
    """Check-ins on the officer's on-site visits of the last month, at the hour they arrived."""
    visits = list(session.scalars(select(Visit).where(
        Visit.officer_id == officer.id, Visit.mode == VisitMode.ONSITE, Visit.visited_on >= today - timedelta(days=30))
        .order_by(Visit.visited_on, Visit.id)))
    for visit in visits:
        if session.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.visit_id == visit.id)):
            continue
        located = rng.random() < 0.8
        session.add(CheckIn(
            officer_id=officer.id, enterprise_id=visit.enterprise_id, visit_id=visit.id,
            checked_in_at=_at(visit.visited_on, rng.randint(9, 16), rng.randint(0, 59)),
            latitude=(CENTRE[0] + Decimal(rng.randint(-40000, 40000)) / 1000000) if located else None,
            longitude=(CENTRE[1] + Decimal(rng.randint(-60000, 60000)) / 1000000) if located else None,
            accuracy_m=rng.randint(8, 60) if located else None))
        tallies.check_ins.created += 1


def _recent_visit_by_the_manager(session, manager, today, tallies) -> None:
    """The manager visited one of the officer's planned enterprises five days ago: the officer is warned."""
    officer = session.scalar(select(User).where(User.username == "officer"))
    if manager is None or officer is None:
        return
    plan = session.scalar(select(VisitPlan).where(
        VisitPlan.officer_id == officer.id, VisitPlan.visit_id.is_(None),
        VisitPlan.month == queries.month_start(today)).order_by(VisitPlan.id).limit(1))
    if plan is None:
        return
    day = max(today - timedelta(days=5), queries.month_start(today) - timedelta(days=9))
    service_services.record_visit(plan.enterprise, {"visited_on": day, "mode": VisitMode.ONSITE,
                                                    "people_met": "总经理", "summary": "陪同市局检查科技项目进展",
                                                    "policy_ids": []}, actor=manager)

