"""Reads on users (admin pages)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from crm.auth.models import LoginAttempt, User
from crm.core.db import utcnow


def users_query(*, q: str = "", role: str = "", include_inactive: bool = True):
    """Users matching a search, newest names first by user name, with region and enterprise loaded."""
    stmt = select(User).options(selectinload(User.region), selectinload(User.enterprise))
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
