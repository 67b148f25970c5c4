"""Demo data of the certification cycle: this year's 高企 batch of 银川市 with its deadlines and a dozen cards
across the stages (the officers' own enterprises first, moved by their officers through the services), one not
passed with a coaching follow-up, a risk flag, and last month's bulletin. Skipped when the batch exists."""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, select

from crm.auth.models import User
from crm.credit.models import CreditListEntry
from crm.cycle import services
from crm.cycle.models import PATH, Batch, Bulletin
from crm.enterprises.models import Enterprise, EnterpriseStatus, Region
from crm.enterprises.queries import subtree_ids
from crm.extensions import db
from crm.ladder.models import Certification, CertificationStatus
from crm.service.models import Assignment

CITY = "640100"
# The stage each card is moved to, in order (the showcase officer's enterprises take the first ones).
STAGES = ["intent", "coaching", "materials", "submitted", "review", "public_notice", "coaching", "materials",
          "submitted", "materials", "intent", "not_passed"]


def _deadlines(year: int) -> dict:
    return {"coaching_by": date(year, 4, 30), "materials_by": date(year, 5, 31), "submitted_by": date(year, 6, 30),
            "review_by": date(year, 9, 30), "public_notice_by": date(year, 11, 15),
            "certified_by": date(year, 12, 31)}


def _on(year: int, step: int, today: date) -> date:
    """The day a card reached its `step`-th stage: the 1st of March, April, … (never after today)."""
    return min(today, date(year, min(3 + step, 12), 1))


def load_cycle(today: date) -> dict[str, int]:
    """The demo batch, its applications, a flag and a bulletin (flushes; the caller commits)."""
    year = today.year
    city = db.session.scalar(select(Region).where(Region.code == CITY))
    manager = db.session.scalar(select(User).where(User.username == "manager"))
    if city is None or manager is None:
        return {"application batches": 0, "applications": 0}
    if db.session.scalar(select(Batch.id).where(Batch.region_id == city.id, Batch.year == year,
                                                Batch.tier == "high_tech")) is not None:
        return {"application batches": 0, "applications": 0}
    batch = services.save_batch({"region_id": city.id, "year": year, "tier": "high_tech", "note": "",
                                 **_deadlines(year)}, actor=manager)
    listed = select(CreditListEntry.enterprise_id).where(CreditListEntry.enterprise_id.is_not(None),
                                                         CreditListEntry.removed_on.is_(None))
    holders = select(Certification.enterprise_id).where(Certification.tier == "high_tech",
                                                        Certification.status == CertificationStatus.ACTIVE)
    rows = db.session.execute(
        select(Enterprise, User).join(Assignment, and_(Assignment.enterprise_id == Enterprise.id,
                                                       Assignment.ends_on.is_(None)))
        .join(User, User.id == Assignment.officer_id)
        .where(Enterprise.region_id.in_(subtree_ids(city.id)), Enterprise.archived_at.is_(None),
               Enterprise.status == EnterpriseStatus.ACTIVE, Enterprise.id.not_in(holders))
        .where(Enterprise.id.not_in(listed))  # on a negative list (crm.credit): not filed
        .order_by((User.username != "officer"), Enterprise.name, Enterprise.id).limit(len(STAGES))).all()
    created = 0
    for (enterprise, officer), stage in zip(rows, STAGES, strict=False):
        application = services.file_application(batch, enterprise, actor=officer, on=_on(year, 0, today))
        created += 1
        if stage == "not_passed":
            for step, target in enumerate(PATH[1:4], start=1):
                services.move_application(application, target, actor=officer, on=_on(year, step, today))
            services.move_application(application, "not_passed", actor=officer, on=_on(year, 4, today),
                                      reason="incomplete", note="")
            continue
        for step, target in enumerate(PATH[1:PATH.index(stage) + 1], start=1):
            services.move_application(application, target, actor=officer, on=_on(year, step, today))
    # a risk flag on a 高企 of the showcase officer's, and last month's bulletin with the manager's words
    flagged = db.session.execute(
        select(Enterprise, User).join(Assignment, and_(Assignment.enterprise_id == Enterprise.id,
                                                       Assignment.ends_on.is_(None)))
        .join(User, User.id == Assignment.officer_id)
        .where(User.username == "officer", Enterprise.id.in_(holders)).order_by(Enterprise.name).limit(1)).first()
    if flagged is not None:
        services.set_flag(flagged[0], "courted", True, actor=flagged[1], note="外地园区以厂房租金优惠接洽")
    last = date(year, today.month, 1).replace(day=1)
    month, bulletin_year = (last.month - 1, year) if last.month > 1 else (12, year - 1)
    if db.session.scalar(select(Bulletin.id).where(Bulletin.region_id == city.id, Bulletin.year == bulletin_year,
                                                   Bulletin.month == month)) is None:
        services.save_bulletin(city, bulletin_year, month, "各县（区）要对照年度目标，加快高企申报材料准备进度；"
                               "进度滞后的县（区）要逐户分析原因，落实包保责任。", actor=manager)
    db.session.flush()
    return {"application batches": 1, "applications": created}
