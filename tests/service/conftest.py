"""Shared people for the service-work tests (visits, needs, follow-ups)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.core.audit import AuditEvent
from tests import factories


@pytest.fixture
def staff(world, db):
    """Managers of the city and of the other city, officers of county X (three), Y and Z, an admin, a firm's user."""
    s = {
        "manager": factories.user("manager", region=world.city, name="王经理"),
        "manager_other": factories.user("manager", region=world.other_city, name="石经理"),
        "officer_x": factories.user("officer", region=world.county_x, name="赵丽娟"),
        "officer_x2": factories.user("officer", region=world.county_x, name="孙建国"),
        "officer_x3": factories.user("officer", region=world.county_x, name="李明"),
        "officer_y": factories.user("officer", region=world.county_y, name="马文斌"),
        "officer_z": factories.user("officer", region=world.county_z, name="杨志刚"),
        "admin": factories.user("admin", name="管理员"),
        "firm": factories.user("enterprise", enterprise=world.ent_x, name="企业用户"),
    }
    db.session.commit()
    return s


def audit_events(db, entity_type: str, action: str | None = None, entity_id: int | None = None) -> list[AuditEvent]:
    """The audit events of a kind of record (optionally one action, one record), oldest first."""
    stmt = select(AuditEvent).where(AuditEvent.entity_type == entity_type)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    return list(db.session.scalars(stmt.order_by(AuditEvent.id)))


def count(db, model) -> int:
    """How many rows a table holds."""
    return db.session.scalar(select(func.count()).select_from(model))
