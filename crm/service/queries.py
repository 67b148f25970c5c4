"""Reads of service work (assignments, visits, needs, follow-ups), through the access policy's record rules."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from crm.auth.models import User
from crm.core import clock
from crm.core.audit import AuditEvent
from crm.core.policy import Role, can
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import can_view_enterprise, scope_enterprises, subtree_ids
from crm.extensions import db
from crm.service.models import (
    OPEN_NEED_STATUSES,
    Assignment,
    Department,
    FollowUp,
    Need,
    Visit,
)

# A visit's author may edit it this many days after recording it; after that only a manager (audited).
VISIT_EDIT_DAYS = 7

# The registry's and the candidate pool's "officer" filter: an officer's id, or this for "unassigned".
UNASSIGNED = "none"


def parse_officer_filter(raw: str | None) -> str:
    """The officer filter from a query string: "", "none" or an officer's id (as text)."""
    raw = (raw or "").strip()
    if raw == UNASSIGNED or (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        return raw
    return ""


def current_assignment(enterprise: Enterprise) -> Assignment | None:
    """The enterprise's current assignment, if any."""
    return db.session.scalar(select(Assignment).where(
        Assignment.enterprise_id == enterprise.id, Assignment.ends_on.is_(None)))


def assignment_history(enterprise: Enterprise) -> list[Assignment]:
    """Every assignment of the enterprise, the current one first, then newest first."""
    return list(db.session.scalars(select(Assignment).where(Assignment.enterprise_id == enterprise.id)
                                   .order_by(Assignment.ends_on.is_not(None), Assignment.starts_on.desc(),
                                             Assignment.id.desc())))


def filter_by_officer(stmt: Select, officer: str) -> Select:
    """Restrict an enterprise query to one officer's current enterprises, or ("none") the unassigned."""
    current = select(Assignment.enterprise_id).where(Assignment.ends_on.is_(None))
    if officer == UNASSIGNED:
        return stmt.where(Enterprise.id.not_in(current))
    if officer:
        return stmt.where(Enterprise.id.in_(current.where(Assignment.officer_id == int(officer))))
    return stmt


def officers_in_scope(user) -> Select:
    """Active officers whose region lies in `user`'s scope (an admin's: all), by name."""
    stmt = select(User).where(User.role == Role.OFFICER, User.active.is_(True))
    if user is None or not user.is_authenticated:
        return stmt.where(false())
    if user.role != Role.ADMIN:
        if user.role not in (Role.MANAGER, Role.OFFICER) or not user.region_id:
            return stmt.where(false())
        stmt = stmt.where(User.region_id.in_(subtree_ids(user.region_id)))
    return stmt.order_by(User.name, User.id)


def officer_choices(user) -> list[tuple[int, str]]:
    """(id, "name（region）") of the officers in `user`'s scope, for the filters and the bulk form."""
    return [(o.id, f"{o.name}（{o.region.name if o.region else '—'}）")
            for o in db.session.scalars(officers_in_scope(user))]


def officers_for(enterprise: Enterprise) -> list[User]:
    """Active officers who may serve the enterprise: their region is the enterprise's or above it."""
    ancestors = [int(i) for i in enterprise.region.path.strip("/").split("/") if i]
    return list(db.session.scalars(select(User).where(
        User.role == Role.OFFICER, User.active.is_(True), User.region_id.in_(ancestors)).order_by(User.name, User.id)))


def may_serve(officer: User | None, enterprise: Enterprise) -> bool:
    """Whether `officer` is an active officer whose region subtree holds the enterprise's region."""
    return (officer is not None and officer.role == Role.OFFICER and officer.is_active
            and officer.region_id is not None and enterprise.region_id in subtree_ids(officer.region_id))


def can_manage_assignment(user, enterprise: Enterprise) -> bool:
    """Whether `user` may assign this enterprise: the capability and the enterprise in their scope."""
    if not can(user, "assignment.manage"):
        return False
    if user.role == Role.ADMIN:
        return True
    return user.region_id is not None and enterprise.region_id in subtree_ids(user.region_id)


def assigned_counts(user, officer_ids: list[int]) -> dict[int, int]:
    """{officer id: enterprises they serve now}, counting only enterprises in `user`'s scope (not archived)."""
    if not officer_ids:
        return {}
    scoped = scope_enterprises(select(Enterprise.id), user).where(Enterprise.archived_at.is_(None))
    rows = db.session.execute(select(Assignment.officer_id, func.count())
                              .where(Assignment.ends_on.is_(None), Assignment.officer_id.in_(officer_ids),
                                     Assignment.enterprise_id.in_(scoped))
                              .group_by(Assignment.officer_id))
    return {officer_id: n for officer_id, n in rows}


def unassigned_count(user) -> int:
    """Enterprises in `user`'s scope (not archived, operating) that no officer serves."""
    stmt = scope_enterprises(select(func.count(Enterprise.id)), user).where(
        Enterprise.archived_at.is_(None), Enterprise.status == "active")
    return db.session.scalar(filter_by_officer(stmt, UNASSIGNED)) or 0


# --- record rules for visits, needs and follow-ups --------------------------------------------

def _in_scope(user, enterprise: Enterprise) -> bool:
    """Whether the enterprise lies in a regional user's subtree (admins: everywhere)."""
    if user.role == Role.ADMIN:
        return True
    return user.region_id is not None and enterprise.region_id in subtree_ids(user.region_id)


def serves(user, enterprise: Enterprise) -> bool:
    """Whether `user` is the enterprise's current service officer."""
    return user.role == Role.OFFICER and db.session.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.enterprise_id == enterprise.id, Assignment.officer_id == user.id,
        Assignment.ends_on.is_(None))) > 0


def can_read_service(user, enterprise: Enterprise) -> bool:
    """Whether `user` may read the enterprise's visits, needs, follow-ups and timeline."""
    return can(user, "service.read") and can_view_enterprise(user, enterprise)


def can_record(user, enterprise: Enterprise) -> bool:
    """Whether `user` may log a visit, raise a need or add a follow-up for the enterprise (in their region)."""
    return can(user, "service.write") and can_view_enterprise(user, enterprise) and enterprise.archived_at is None


def visit_edit_deadline(visit: Visit) -> date:
    """The last day the author may still edit the visit."""
    return clock.local_date(visit.created_at) + timedelta(days=VISIT_EDIT_DAYS)


def can_edit_visit(user, visit: Visit) -> bool:
    """The author within VISIT_EDIT_DAYS of recording it; a manager of its region or an admin at any time."""
    if not can(user, "service.write") or not can_view_enterprise(user, visit.enterprise):
        return False
    if user.role in (Role.ADMIN, Role.MANAGER):
        return True
    return visit.officer_id == user.id and clock.today() <= visit_edit_deadline(visit)


def can_work_need(user, need: Need) -> bool:
    """Whether `user` may change the need: its owner, the enterprise's officer, a manager of its region, an admin."""
    if not can(user, "service.write") or not can_view_enterprise(user, need.enterprise):
        return False
    if user.role in (Role.ADMIN, Role.MANAGER):
        return True
    return need.owner_id == user.id or serves(user, need.enterprise)


def can_work_follow_up(user, follow_up: FollowUp) -> bool:
    """Whether `user` may complete or change the follow-up: its assignee, a manager of its region, an admin."""
    if not can(user, "service.write") or not can_view_enterprise(user, follow_up.enterprise):
        return False
    return user.role in (Role.ADMIN, Role.MANAGER) or follow_up.assignee_id == user.id


def may_take(user: User | None, enterprise: Enterprise) -> bool:
    """Whether `user` can own a need or a follow-up of the enterprise: an active officer or manager of its region."""
    return (user is not None and user.is_active and user.role in (Role.OFFICER, Role.MANAGER)
            and user.region_id is not None and enterprise.region_id in subtree_ids(user.region_id))


def takers_for(enterprise: Enterprise) -> list[User]:
    """Active officers and managers whose region holds the enterprise, officers first, by name."""
    ancestors = [int(i) for i in enterprise.region.path.strip("/").split("/") if i]
    return list(db.session.scalars(select(User).where(
        User.role.in_((Role.OFFICER, Role.MANAGER)), User.active.is_(True), User.region_id.in_(ancestors))
        .order_by(User.role.desc(), User.name, User.id)))


def default_owner(enterprise: Enterprise, actor) -> User | None:
    """Who owns a new need by default: the enterprise's officer, else the person recording it (if they may)."""
    current = current_assignment(enterprise)
    if current is not None and current.officer.is_active:
        return current.officer
    return actor if may_take(actor, enterprise) else None


def departments(include_inactive: bool = False) -> list[Department]:
    """The departments needs are referred to, in the admin's order."""
    stmt = select(Department).order_by(Department.position, Department.id)
    if not include_inactive:
        stmt = stmt.where(Department.active.is_(True))
    return list(db.session.scalars(stmt))


# --- lists ---------------------------------------------------------------------------------

def _scoped(stmt: Select, user) -> Select:
    """Restrict a statement joined to Enterprise to `user`'s scope."""
    return scope_enterprises(stmt, user)


def my_enterprises(user) -> Select:
    """The enterprises `user` serves now (not archived), by name."""
    return (select(Enterprise).join(Assignment, and_(Assignment.enterprise_id == Enterprise.id,
                                                     Assignment.ends_on.is_(None)))
            .where(Assignment.officer_id == user.id, Enterprise.archived_at.is_(None))
            .order_by(Enterprise.name, Enterprise.id))


def enterprise_options(user, q: str = "", limit: int = 30) -> list[tuple[Enterprise, bool]]:
    """Enterprises for the visit form: (enterprise, mine), the user's own first, then others in scope matching `q`."""
    own = list(db.session.scalars(my_enterprises(user).where(
        Enterprise.name.contains(q, autoescape=True)).limit(limit))) if q or user.role == Role.OFFICER else []
    found = [(e, True) for e in own]
    if q:
        seen = {e.id for e in own}
        others = db.session.scalars(_scoped(select(Enterprise), user).where(
            Enterprise.archived_at.is_(None),
            or_(Enterprise.name.contains(q, autoescape=True), Enterprise.uscc.startswith(q.upper(), autoescape=True)))
            .order_by(Enterprise.name, Enterprise.id).limit(limit))
        found += [(e, False) for e in others if e.id not in seen][: max(0, limit - len(own))]
    return found


def visits_of(enterprise: Enterprise) -> Select:
    """The enterprise's visits, newest first, with officer and policies loaded."""
    return (select(Visit).where(Visit.enterprise_id == enterprise.id)
            .options(joinedload(Visit.officer), selectinload(Visit.policies))
            .order_by(Visit.visited_on.desc(), Visit.id.desc()))


def needs_of(enterprise: Enterprise) -> Select:
    """The enterprise's needs, open ones first, then by due date."""
    return (select(Need).where(Need.enterprise_id == enterprise.id)
            .options(joinedload(Need.owner), joinedload(Need.department))
            .order_by(Need.status.not_in(OPEN_NEED_STATUSES), Need.due_on, Need.id))


def follow_ups_of(enterprise: Enterprise) -> Select:
    """The enterprise's follow-ups, open ones first by due date."""
    return (select(FollowUp).where(FollowUp.enterprise_id == enterprise.id)
            .options(joinedload(FollowUp.assignee))
            .order_by(FollowUp.done_at.is_not(None), FollowUp.due_on, FollowUp.id))


def visit_history(visit: Visit) -> list:
    """The audit events of a visit, newest first."""
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "visits", AuditEvent.entity_id == visit.id).order_by(AuditEvent.at.desc())))


def need_history(need: Need) -> list:
    """The audit events of a need (raised, edited, status changes), oldest first."""
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "needs", AuditEvent.entity_id == need.id).order_by(AuditEvent.at, AuditEvent.id)))
