"""Reads on users (admin pages)."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from crm.auth.models import User


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
