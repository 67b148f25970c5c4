"""Reads of the policy catalogue: the searchable list, how often visits cited each policy, the visit form's choices."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select

from crm.enterprises.models import Enterprise
from crm.enterprises.queries import scope_enterprises
from crm.extensions import db
from crm.policies.models import Policy

# The list's state filter: which policies it shows ("active" unless asked otherwise).
STATES = ("active", "inactive", "all")


@dataclass(frozen=True)
class PolicyFilter:
    """The list's search text (title or document no.) and state filter."""

    q: str = ""
    state: str = "active"

    @property
    def narrowed(self) -> bool:
        """Whether the filter hides some policies (the empty state then says so)."""
        return bool(self.q) or self.state != "all"


def parse_filter(args) -> PolicyFilter:
    """The filter from a query string; unknown values fall back to the defaults."""
    state = args.get("state", "active")
    return PolicyFilter(q=args.get("q", "").strip()[:100], state=state if state in STATES else "active")


def policy_list(f: PolicyFilter) -> Select:
    """Policies matching the filter: active ones first, then by title."""
    stmt = select(Policy)
    if f.q:
        stmt = stmt.where(or_(Policy.title.icontains(f.q, autoescape=True),
                              Policy.document_no.icontains(f.q, autoescape=True)))
    if f.state == "active":
        stmt = stmt.where(Policy.active.is_(True))
    elif f.state == "inactive":
        stmt = stmt.where(Policy.active.is_(False))
    return stmt.order_by(Policy.active.desc(), Policy.title, Policy.id)


def citation_counts(user, policy_ids: list[int]) -> dict[int, int]:
    """{policy id: visits that cited it}, counting only visits to enterprises in `user`'s scope; one query."""
    from crm.service.models import Visit, visit_policies

    if not policy_ids:
        return {}
    stmt = (select(visit_policies.c.policy_id, func.count())
            .join(Visit, Visit.id == visit_policies.c.visit_id)
            .join(Enterprise, Enterprise.id == Visit.enterprise_id)
            .where(visit_policies.c.policy_id.in_(policy_ids))
            .group_by(visit_policies.c.policy_id))
    return dict(db.session.execute(scope_enterprises(stmt, user)).all())


def active_policies() -> list[Policy]:
    """The policies an officer may cite on a visit, by title."""
    return list(db.session.scalars(select(Policy).where(Policy.active.is_(True)).order_by(Policy.title, Policy.id)))
