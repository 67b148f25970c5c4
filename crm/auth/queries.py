"""Reads on users (admin pages)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from crm.auth.models import LoginAttempt, User
from crm.core.db import utcnow


def users_query(*, q: str = "", role: str = "", include_inactive: bool = True):
    """Users matching a search, by user name, with region, enterprise and department loaded."""
    stmt = select(User).options(selectinload(User.region), selectinload(User.enterprise), selectinload(User.department))
    if q:
        stmt = stmt.where(or_(User.username.icontains(q, autoescape=True), User.name.icontains(q, autoescape=True),
                              User.phone.contains(q, autoescape=True)))
    if role:
        stmt = stmt.where(User.role == role)
    if not include_inactive:
        stmt = stmt.where(User.active.is_(True))
    return stmt.order_by(User.username)


def load_session_user(session_id: str) -> User | None:
    """The user behind a session id "id:nonce", or None when the nonce is stale."""
    from crm.extensions import db

    user_id, _, nonce = (session_id or "").partition(":")
    if not user_id.isdigit() or not nonce:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_nonce != nonce or not user.is_active:
        return None
    return user


def recent_failed_sign_ins(*, hours: int = 24, limit: int = 20) -> list:
    """Failed sign-ins of the last `hours` by user name (as typed) and address, most recent first: rows of
    (username, ip, failures, refused, last_at); `refused` counts the tries turned away while locked."""
    from crm.extensions import db

    since = utcnow() - timedelta(hours=hours)
    last_at = func.max(LoginAttempt.at)
    stmt = (select(LoginAttempt.username, LoginAttempt.ip, func.count().label("failures"),
                   func.count().filter(LoginAttempt.locked.is_(True)).label("refused"), last_at.label("last_at"))
            .where(LoginAttempt.success.is_(False), LoginAttempt.at > since)
            .group_by(LoginAttempt.username, LoginAttempt.ip)
            .order_by(last_at.desc()).limit(limit))
    return list(db.session.execute(stmt))


# --- the audit trail (admins) ------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    """The admin's search of the trail: user name, enterprise (name or USCC), kind of record, action, and
    a range of dates in the bureau's zone (both ends included)."""

    actor: str = ""
    enterprise: str = ""
    entity: str = ""
    action: str = ""
    start: date | None = None
    end: date | None = None

    @classmethod
    def from_args(cls, args) -> AuditFilters:
        def text(name: str, limit: int = 200) -> str:
            return (args.get(name) or "").strip()[:limit]

        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(text(name, 10))
            except ValueError:
                return None

        return cls(actor=text("actor"), enterprise=text("enterprise"), entity=text("entity", 40),
                   action=text("action", 40), start=day("from"), end=day("to"))

    def args(self) -> dict:
        """The filters as query arguments (for the export link and the pager)."""
        values = {"actor": self.actor, "enterprise": self.enterprise, "entity": self.entity, "action": self.action,
                  "from": self.start.isoformat() if self.start else "", "to": self.end.isoformat() if self.end else ""}
        return {k: v for k, v in values.items() if v}


def _local_midnight(day: date) -> datetime:
    from crm.core import clock

    return datetime.combine(day, time.min, tzinfo=clock.zone()).astimezone(UTC)


def audit_query(f: AuditFilters):
    """The audit events matching `f`, newest first."""
    from crm.core.audit import AuditEvent
    from crm.core.uscc import normalize_uscc
    from crm.enterprises.models import Enterprise

    stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if f.actor:
        stmt = stmt.where(func.lower(AuditEvent.actor_label) == f.actor.lower())
    if f.entity:
        stmt = stmt.where(AuditEvent.entity_type == f.entity)
    if f.action:
        stmt = stmt.where(AuditEvent.action == f.action)
    if f.enterprise:
        uscc = normalize_uscc(f.enterprise)
        ids = select(Enterprise.id).where(or_(Enterprise.uscc == uscc,
                                              Enterprise.name.icontains(f.enterprise, autoescape=True)))
        stmt = stmt.where(or_(AuditEvent.enterprise_id.in_(ids),
                              and_(AuditEvent.entity_type == "enterprises", AuditEvent.entity_id.in_(ids))))
    if f.start:
        stmt = stmt.where(AuditEvent.at >= _local_midnight(f.start))
    if f.end:
        stmt = stmt.where(AuditEvent.at < _local_midnight(f.end + timedelta(days=1)))
    return stmt


def enterprise_names(events) -> dict[int, str]:
    """{enterprise id: name} of the enterprises the events are about."""
    from crm.enterprises.models import Enterprise
    from crm.extensions import db

    ids = {e.enterprise_id for e in events if e.enterprise_id}
    ids |= {e.entity_id for e in events if e.entity_type == "enterprises" and e.entity_id}
    if not ids:
        return {}
    return dict(db.session.execute(select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(ids))).all())

