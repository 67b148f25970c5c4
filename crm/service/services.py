"""Writes on assignments: validate, flush and audit; callers commit.

At most one current assignment per enterprise: assigning ends the current one (ends_on =
today) and starts a new one, so the rows are the history of who served the enterprise when.
An officer edits only the enterprises they serve now (crm.enterprises.queries.can_edit_enterprise).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core import audit, clock
from crm.core.policy import Role
from crm.core.validation import ValidationFailed
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.service import queries
from crm.service.models import Assignment

ASSIGNMENT_FIELDS = ["enterprise_id", "officer_id", "starts_on", "ends_on", "assigned_by_id"]
# A bulk assignment holds at most this many enterprises (the registry says so when a filter matches more).
BULK_LIMIT = 500


def _check(enterprise: Enterprise, officer, actor) -> None:
    if actor is not None and not isinstance(actor, str) and not queries.can_manage_assignment(actor, enterprise):
        raise ValidationFailed.one("", _l("%(name)s is outside your scope.", name=enterprise.name))
    if not queries.may_serve(officer, enterprise):
        raise ValidationFailed.one("officer_id", _l(
            "%(name)s lies outside the region of the chosen officer; choose an active officer of its region.",
            name=enterprise.name))


def _end(current: Assignment, actor, enterprise: Enterprise) -> None:
    old = current.ends_on
    current.ends_on = max(clock.today(), current.starts_on)
    db.session.flush()
    audit.record(db.session, "update", current, actor=actor, enterprise_id=enterprise.id,
                 changes={"ends_on": [old, current.ends_on.isoformat()]},
                 summary=f"{enterprise.name} · {current.officer.name}")


def _assign(enterprise: Enterprise, officer, actor) -> Assignment | None:
    """Assign without checks; None when the officer serves the enterprise already."""
    current = db.session.scalar(select(Assignment).where(
        Assignment.enterprise_id == enterprise.id, Assignment.ends_on.is_(None)).with_for_update())
    if current is not None:
        if current.officer_id == officer.id:
            return None
        _end(current, actor, enterprise)
    assignment = Assignment(enterprise_id=enterprise.id, officer_id=officer.id, starts_on=clock.today(),
                            assigned_by_id=getattr(actor, "id", None))
    db.session.add(assignment)
    db.session.flush()
    audit.record(db.session, "create", assignment, actor=actor, enterprise_id=enterprise.id,
                 changes=audit.snapshot(assignment, ASSIGNMENT_FIELDS), summary=f"{enterprise.name} · {officer.name}")
    return assignment


def assign_enterprise(enterprise: Enterprise, officer, *, actor) -> Assignment | None:
    """Make `officer` the enterprise's service officer from today (ending the current one, if another).

    Returns the new assignment, or None when the officer serves the enterprise already.
    """
    _check(enterprise, officer, actor)
    return _assign(enterprise, officer, actor)


def assign_creator(enterprise: Enterprise, officer, *, actor) -> Assignment | None:
    """Make the officer who registered the enterprise its service officer (None for anyone else)."""
    # Officers lack assignment.manage, but without this they could not edit what they just registered.
    if getattr(officer, "role", None) != Role.OFFICER:
        return None
    if not queries.may_serve(officer, enterprise):
        raise ValidationFailed.one("", _l("%(name)s is outside your scope.", name=enterprise.name))
    return _assign(enterprise, officer, actor)


def assign_many(enterprises, officer, *, actor) -> int:
    """Assign every enterprise to `officer`; all or none (any refusal refuses the lot). Returns how many changed."""
    enterprises = list(enterprises)
    if len(enterprises) > BULK_LIMIT:
        raise ValidationFailed.one("", _l("At most %(max)s enterprises can be assigned at once.", max=BULK_LIMIT))
    outside = [e for e in enterprises if not queries.may_serve(officer, e)]
    if outside:
        raise ValidationFailed.one("officer_id", _l(
            "%(n)s of these enterprises lie outside the chosen officer's region (e.g. %(name)s); "
            "narrow the filter to the officer's region.", n=len(outside), name=outside[0].name))
    for enterprise in enterprises:
        _check(enterprise, officer, actor)
    return sum(1 for e in enterprises if _assign(e, officer, actor) is not None)


def end_assignment(enterprise: Enterprise, *, actor) -> bool:
    """End the enterprise's current assignment today (it stays in the history); False when there is none."""
    if actor is not None and not isinstance(actor, str) and not queries.can_manage_assignment(actor, enterprise):
        raise ValidationFailed.one("", _l("%(name)s is outside your scope.", name=enterprise.name))
    current = queries.current_assignment(enterprise)
    if current is None:
        return False
    _end(current, actor, enterprise)
    return True
