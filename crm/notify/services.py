"""Writes of notifications: create once per dedupe key, mark read, the e-mail preference."""
from __future__ import annotations

from sqlalchemy import select, update

from crm.core import audit
from crm.core.db import utcnow
from crm.extensions import db
from crm.notify.models import Notification


def notify(user, kind: str, params: dict, *, link: str = "", dedupe_key: str) -> Notification | None:
    """Leave a message for `user` unless one with this dedupe key exists; None when it did (nothing new).

    The key is unique in the database: should two writers race (a job's lease makes that rare), the
    loser's unit of work fails at commit and is retried, finding the message there. No savepoint:
    SQLite's driver would commit on releasing one, breaking the job's all-or-nothing.
    """
    if user is None or not user.is_active:
        return None
    if db.session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)) is not None:
        return None
    notification = Notification(user_id=user.id, kind=kind, params=params, link=link, dedupe_key=dedupe_key)
    db.session.add(notification)
    db.session.flush()
    return notification


def mark_read(notification: Notification) -> bool:
    """Mark one notification read; False when it was read already."""
    if notification.read_at is not None:
        return False
    notification.read_at = utcnow()
    db.session.flush()
    return True


def mark_all_read(user) -> int:
    """Mark every unread notification of the user read; returns how many."""
    result = db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow()))
    return result.rowcount or 0


def set_email_preference(user, enabled: bool, *, actor) -> bool:
    """Turn notification e-mails on or off for the user (audited); False when nothing changed."""
    changes = audit.apply_changes(user, {"email_notifications": bool(enabled)})
    if not changes:
        return False
    db.session.flush()
    audit.record(db.session, "update", user, actor=actor, changes=changes, summary=user.username)
    return True


def path_for(endpoint: str, **values) -> str:
    """The app-relative URL of an endpoint, also outside a request (jobs run in the runner's app context)."""
    from flask import current_app

    return current_app.url_map.bind("localhost").build(endpoint, values)
