"""Reads of the policy catalogue."""
from __future__ import annotations

from sqlalchemy import select

from crm.extensions import db
from crm.policies.models import Policy


def active_policies() -> list[Policy]:
    """The policies in use, by title (the visit form's choices)."""
    return list(db.session.scalars(select(Policy).where(Policy.active.is_(True)).order_by(Policy.title, Policy.id)))
