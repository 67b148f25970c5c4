"""Reads on assignments, through the access policy's record rules (crm.enterprises.queries)."""
from __future__ import annotations

from sqlalchemy import Select, false, func, select

from crm.auth.models import User
from crm.core.policy import Role, can
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import scope_enterprises, subtree_ids
from crm.extensions import db
from crm.service.models import Assignment

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
