"""Scheduled housekeeping of sign-in: old login attempts are deleted (idempotent)."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete

from crm.auth.models import LoginAttempt
from crm.extensions import db


def attempts_keep_days() -> int:
    """How long sign-in attempts are kept: LOGIN_ATTEMPTS_KEEP_DAYS, never less than the throttle's windows."""
    days = int(current_app.config.get("LOGIN_ATTEMPTS_KEEP_DAYS", 90))
    # The throttle counts failures within its windows: deleting younger ones would lift a lock early.
    window_minutes = max(current_app.config.get("LOGIN_LOCK_MINUTES", 15),
                         current_app.config.get("LOGIN_IP_WINDOW_MINUTES", 15))
    return max(days, window_minutes // (24 * 60) + 1)


def prune_login_attempts(now: datetime) -> str:
    """Delete the sign-in attempts older than the configured age (the JobRun keeps how many)."""
    cutoff = now - timedelta(days=attempts_keep_days())
    removed = db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff)).rowcount or 0
    return _("%(n)s sign-in attempts older than %(days)s days deleted", n=removed, days=attempts_keep_days())
