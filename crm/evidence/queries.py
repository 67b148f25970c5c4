"""Reads of evidence: attachments of a record, check-ins, joint visits, recent visits by others, plans vs actual."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import joinedload

from crm.auth.models import User
from crm.core import clock
from crm.core.policy import Role, can
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import can_edit_enterprise, can_view_enterprise
from crm.evidence.models import Attachment, CheckIn, ParentKind, VisitPlan, visit_departments, visit_officers
from crm.extensions import db
from crm.service import queries as service_queries
from crm.service.models import Department, Need, Visit

# The app warns when the enterprise was visited by someone else within this many days.
RECENT_VISIT_DAYS = 14


# --- months --------------------------------------------------------------------------------------

def month_start(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def next_month(month: date) -> date:
    """The first day of the month after `month`."""
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def parse_month(raw: str | None, default: date) -> date:
    """A month from "YYYY-MM" (else `default`), as its first day."""
    raw = (raw or "").strip()
    if len(raw) == 7 and raw[4] == "-" and raw[:4].isdigit() and raw[5:].isdigit():
        year, month = int(raw[:4]), int(raw[5:])
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return date(year, month, 1)
    return month_start(default)


def week_of_month(day: date) -> int:
    """The week of the month a day falls in (days 1–7 are week 1, … 29–31 week 5)."""
    return (day.day - 1) // 7 + 1


# --- joint visits ------------------------------------------------------------------------------

def joint_officers(visit: Visit) -> list[User]:
    """The other officers who made the visit with its author, by name."""
    return list(db.session.scalars(select(User).join(visit_officers, visit_officers.c.user_id == User.id)
                                   .where(visit_officers.c.visit_id == visit.id).order_by(User.name, User.id)))


def joint_departments(visit: Visit) -> list[Department]:
    """The departments that took part in the visit."""
    return list(db.session.scalars(select(Department).join(visit_departments,
                                                           visit_departments.c.department_id == Department.id)
                                   .where(visit_departments.c.visit_id == visit.id)
                                   .order_by(Department.position, Department.id)))


def involves(user_id_column):
    """A clause: the visit's author is the user, or the user took part in it (joint visit)."""
    return or_(Visit.officer_id == user_id_column, exists().where(
        visit_officers.c.visit_id == Visit.id, visit_officers.c.user_id == user_id_column))


def joint_candidates(user) -> list[User]:
    """Officers and managers who may join a visit of `user`: active, of the user's region subtree, not the user."""
    from crm.enterprises.queries import subtree_ids

    if user.role == Role.ADMIN or not user.region_id:
        stmt = select(User).where(User.role.in_((Role.OFFICER, Role.MANAGER)), User.active.is_(True))
    else:
        stmt = select(User).where(User.role.in_((Role.OFFICER, Role.MANAGER)), User.active.is_(True),
                                  User.region_id.in_(subtree_ids(user.region_id)))
    return list(db.session.scalars(stmt.where(User.id != user.id).order_by(User.role.desc(), User.name, User.id)
                                   .limit(200)))


def my_visits_count(user, since: date, until: date) -> tuple[int, int]:
    """(visits `user` made between the dates, of which as a joint officer), for the workbench."""
    # two indexed counts, not one "author OR joint" filter: the OR (with EXISTS) scanned the whole visits table
    # (150 ms at 500,000 visits)
    authored = db.session.scalar(select(func.count(Visit.id)).where(
        Visit.officer_id == user.id, Visit.visited_on >= since, Visit.visited_on <= until)) or 0
    joint, joint_of_others = db.session.execute(
        select(func.count(), func.count().filter(Visit.officer_id != user.id)).select_from(visit_officers)
        .join(Visit, Visit.id == visit_officers.c.visit_id)
        .where(visit_officers.c.user_id == user.id, Visit.visited_on >= since, Visit.visited_on <= until)).one()
    return authored + (joint_of_others or 0), joint or 0


# --- the 14-day warning --------------------------------------------------------------------------

def recent_visits_by_others(enterprise: Enterprise, user, *, today: date | None = None,
                            days: int = RECENT_VISIT_DAYS) -> list[Visit]:
    """Visits of the enterprise within `days` made by someone other than `user` (neither author nor joint)."""
    today = today or clock.today()
    mine = exists().where(visit_officers.c.visit_id == Visit.id, visit_officers.c.user_id == user.id)
    return list(db.session.scalars(
        select(Visit).where(Visit.enterprise_id == enterprise.id, Visit.visited_on >= today - timedelta(days=days),
                            Visit.visited_on <= today, Visit.officer_id != user.id, ~mine)
        .options(joinedload(Visit.officer)).order_by(Visit.visited_on.desc(), Visit.id.desc()).limit(10)))


# --- check-ins -----------------------------------------------------------------------------------

def check_in_of(visit: Visit) -> CheckIn | None:
    """The check-in linked to the visit, if any."""
    return db.session.scalar(select(CheckIn).where(CheckIn.visit_id == visit.id))


def open_check_in(user, check_in_id: int | None, enterprise: Enterprise) -> CheckIn | None:
    """The user's own check-in at this enterprise not yet linked to a visit (made in the last two days)."""
    if not check_in_id:
        return None
    check_in = db.session.get(CheckIn, check_in_id)
    if (check_in is None or check_in.officer_id != user.id or check_in.enterprise_id != enterprise.id
            or check_in.visit_id is not None):
        return None
    if clock.local_date(check_in.checked_in_at) < clock.today() - timedelta(days=2):
        return None
    return check_in


# --- attachments -------------------------------------------------------------------------------

def attachments_of(kind: str, parent_id: int) -> list[Attachment]:
    """The attachments of one record, oldest first."""
    return list(db.session.scalars(select(Attachment).where(
        Attachment.parent_type == kind, Attachment.parent_id == parent_id)
        .options(joinedload(Attachment.uploaded_by)).order_by(Attachment.created_at, Attachment.id)))


def parent_record(kind: str, parent_id: int):
    """The visit, need or certification an attachment belongs to (None when it is gone)."""
    from crm.ladder.models import Certification

    model = {ParentKind.VISIT: Visit, ParentKind.NEED: Need, ParentKind.CERTIFICATION: Certification}.get(kind)
    return db.session.get(model, parent_id) if model is not None else None


def can_read_parent(user, kind: str, parent) -> bool:
    """The parent's own read rule: a visit's or need's is service work's; a certification's is its enterprise's page."""
    if kind == ParentKind.CERTIFICATION:
        return can(user, "registry.read") and can_view_enterprise(user, parent.enterprise)
    return service_queries.can_read_service(user, parent.enterprise)


def can_attach(user, kind: str, parent) -> bool:
    """Who may add a file: a visit's author, joint officers and the region's managers; whoever may work a need;
    whoever may edit the certification's enterprise."""
    if not can(user, "service.write"):
        return False
    if kind == ParentKind.VISIT:
        if not service_queries.can_read_service(user, parent.enterprise) or parent.enterprise.archived_at:
            return False
        if user.role in (Role.ADMIN, Role.MANAGER) or parent.officer_id == user.id:
            return True
        return db.session.scalar(select(func.count()).select_from(visit_officers).where(
            visit_officers.c.visit_id == parent.id, visit_officers.c.user_id == user.id)) > 0
    if kind == ParentKind.NEED:
        return service_queries.can_work_need(user, parent)
    return can_edit_enterprise(user, parent.enterprise)


def can_delete_attachment(user, attachment: Attachment) -> bool:
    """Its uploader or an admin (the parent's read rule is checked first by the view)."""
    return can(user, "service.write") and (user.role == Role.ADMIN or attachment.uploaded_by_id == user.id)


# --- visit plans -----------------------------------------------------------------------------------

def can_read_plan(user, plan: VisitPlan) -> bool:
    """Its officer, the managers whose scope holds the enterprise, admins."""
    if not can(user, "service.read"):
        return False
    if plan.officer_id == user.id:
        return True
    return user.role in (Role.ADMIN, Role.MANAGER) and can_view_enterprise(user, plan.enterprise)


def can_change_plan(user, plan: VisitPlan) -> bool:
    """Its officer (while the visit is not recorded against it) or an admin."""
    return can(user, "service.write") and (plan.officer_id == user.id or user.role == Role.ADMIN)


def plans_of(officer_id: int, month: date) -> list[VisitPlan]:
    """An officer's plan for a month, by date/week then enterprise name."""
    return list(db.session.scalars(
        select(VisitPlan).join(Enterprise, Enterprise.id == VisitPlan.enterprise_id)
        .where(VisitPlan.officer_id == officer_id, VisitPlan.month == month)
        .options(joinedload(VisitPlan.enterprise), joinedload(VisitPlan.visit))
        .order_by(func.coalesce(VisitPlan.planned_week, 6), VisitPlan.planned_on, Enterprise.name, VisitPlan.id)))


def plan_week(plan: VisitPlan) -> int | None:
    """The plan's week of the month (from its date when it has one)."""
    return week_of_month(plan.planned_on) if plan.planned_on else plan.planned_week


def plan_state(plan: VisitPlan, today: date) -> str:
    """done | missed (its month, or its date, has passed without a visit) | to_do."""
    if plan.visit_id is not None:
        return "done"
    if next_month(plan.month) <= today or (plan.planned_on is not None and plan.planned_on < today):
        return "missed" if next_month(plan.month) <= today else "late"
    return "to_do"


def unplanned_visits(officer_id: int, month: date) -> Select:
    """Visits the officer made (author or joint) in the month that match none of their plans."""
    planned = exists().where(VisitPlan.visit_id == Visit.id, VisitPlan.officer_id == officer_id)
    return (select(Visit).where(involves(officer_id), Visit.visited_on >= month, Visit.visited_on < next_month(month),
                                ~planned)
            .options(joinedload(Visit.enterprise), joinedload(Visit.officer))
            .order_by(Visit.visited_on, Visit.id))


@dataclass
class PlanRow:
    """One officer's month: planned, done, missed (month over, or date passed), still to do, done unplanned."""

    officer: User
    planned: int = 0
    done: int = 0
    missed: int = 0
    to_do: int = 0
    unplanned: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        """Share of the plan done."""
        return self.done / self.planned if self.planned else None


def plan_report(user, month: date, today: date | None = None) -> list[PlanRow]:
    """Plan against actual per officer of `user`'s scope for a month (three grouped queries)."""
    today = today or clock.today()
    officers = list(db.session.scalars(service_queries.officers_in_scope(user)))
    ids = [o.id for o in officers]
    rows = {o.id: PlanRow(o) for o in officers}
    if not ids:
        return []
    over = next_month(month) <= today
    for officer_id, planned, done, late in db.session.execute(
            select(VisitPlan.officer_id, func.count(), func.count(VisitPlan.visit_id),
                   func.count().filter(and_(VisitPlan.visit_id.is_(None), VisitPlan.planned_on < today)))
            .where(VisitPlan.officer_id.in_(ids), VisitPlan.month == month).group_by(VisitPlan.officer_id)):
        row = rows[officer_id]
        row.planned, row.done = planned, done
        row.missed = planned - done if over else late
        row.to_do = planned - done - row.missed
    # visits per officer (author or joint) in the month not matched to one of their plans
    involvement = (select(Visit.id.label("visit_id"), Visit.officer_id.label("user_id"))
                   .where(Visit.visited_on >= month, Visit.visited_on < next_month(month), Visit.officer_id.in_(ids))
                   .union(select(visit_officers.c.visit_id, visit_officers.c.user_id)
                          .join(Visit, Visit.id == visit_officers.c.visit_id)
                          .where(Visit.visited_on >= month, Visit.visited_on < next_month(month),
                                 visit_officers.c.user_id.in_(ids)))).subquery()
    matched = exists().where(VisitPlan.visit_id == involvement.c.visit_id,
                             VisitPlan.officer_id == involvement.c.user_id)
    for user_id, n in db.session.execute(select(involvement.c.user_id, func.count()).where(~matched)
                                         .group_by(involvement.c.user_id)):
        rows[user_id].unplanned = n
    return [rows[i] for i in ids]


def officer_in_scope(user, officer_id: int) -> User | None:
    """An officer of `user`'s scope (managers, admins), else None."""
    return db.session.scalar(service_queries.officers_in_scope(user).where(User.id == officer_id))


def plan_enterprise_choices(user) -> list[Enterprise]:
    """Enterprises to plan: the user's own first (officers), then others of their scope, capped."""
    own = list(db.session.scalars(service_queries.my_enterprises(user).limit(300)))
    return own
