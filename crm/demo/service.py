"""Demo assignments (包保关系): most operating enterprises served by the officer of their county.

Enterprises in counties without a demo officer stay unassigned, and so does about one in eight
elsewhere (the registry's "not assigned" filter then has something to show). An enterprise that
has ever had an assignment is left as it is, so running the load again changes nothing.
"""
from __future__ import annotations

import zlib
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.auth.models import User
from crm.core.policy import Role
from crm.demo.registry import Tally, county_of
from crm.enterprises.models import Enterprise, EnterpriseStatus
from crm.service.models import Assignment


def _stable(uscc: str) -> int:
    """A number fixed by the USCC (independent of ids and of the count loaded)."""
    return zlib.crc32(uscc.encode())


def load_assignments(session, users: dict[str, User], enterprise_ids: list[int], today: date,
                     tally: Tally) -> None:
    """Assign the demo's operating enterprises that never had an assignment to their county's officer."""
    officers = {u.region.code: u for u in sorted(users.values(), key=lambda u: u.username)
                if u.role == Role.OFFICER and u.region is not None}
    assigner = users.get("manager") or users.get("admin")
    seen = set(session.scalars(select(Assignment.enterprise_id).where(Assignment.enterprise_id.in_(enterprise_ids))))
    enterprises = session.scalars(select(Enterprise).options(joinedload(Enterprise.region)).where(
        Enterprise.id.in_(enterprise_ids), Enterprise.archived_at.is_(None),
        Enterprise.status == EnterpriseStatus.ACTIVE).order_by(Enterprise.uscc))
    for enterprise in enterprises:
        if enterprise.id in seen:
            tally.existing += 1
            continue
        officer = officers.get(county_of(enterprise.region.code).code)
        if officer is None or _stable(enterprise.uscc) % 8 == 0:
            continue
        session.add(Assignment(enterprise_id=enterprise.id, officer_id=officer.id,
                               starts_on=today - timedelta(days=30 + _stable(enterprise.uscc) % 700),
                               assigned_by_id=assigner.id if assigner is not None else None))
        tally.created += 1
    session.flush()
