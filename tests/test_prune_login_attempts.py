"""The daily job deletes sign-in attempts older than LOGIN_ATTEMPTS_KEEP_DAYS; it never lifts a lock early."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from crm.auth.jobs import prune_login_attempts
from crm.auth.models import LoginAttempt
from crm.core.db import utcnow
from crm.notify import scheduler


def _attempts(db, *ages_in_days, username="li"):
    now = utcnow()
    for days in ages_in_days:
        db.session.add(LoginAttempt(username=username, ip="10.0.0.1", at=now - timedelta(days=days), success=False))
    db.session.commit()
    return now


def _ages(db, now):
    return sorted(round((now - at).total_seconds() / 86400) for at in db.session.scalars(select(LoginAttempt.at)))


def test_old_attempts_are_deleted_young_ones_kept(db):
    now = _attempts(db, 0, 1, 89, 91, 400)
    line = prune_login_attempts(now)
    db.session.commit()
    assert _ages(db, now) == [0, 1, 89]
    assert "2" in line
    # idempotent: a second run deletes nothing more
    prune_login_attempts(now)
    db.session.commit()
    assert _ages(db, now) == [0, 1, 89]


def test_the_age_is_configurable(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ATTEMPTS_KEEP_DAYS", 7)
    now = _attempts(db, 0, 6, 8, 30)
    prune_login_attempts(now)
    db.session.commit()
    assert _ages(db, now) == [0, 6]


def test_never_younger_than_the_throttle_windows(app, db, monkeypatch):
    """A zero (or too short) age would delete the failures a lock is counting: the windows win."""
    monkeypatch.setitem(app.config, "LOGIN_ATTEMPTS_KEEP_DAYS", 0)
    monkeypatch.setitem(app.config, "LOGIN_LOCK_MINUTES", 3 * 24 * 60)  # a three-day lock
    now = _attempts(db, 0, 2, 5)
    prune_login_attempts(now)
    db.session.commit()
    assert _ages(db, now) == [0, 2]


def test_the_job_is_registered_and_runs_through_the_scheduler(db):
    job = scheduler.job_by_id("auth.prune_login_attempts")
    assert job is not None
    _attempts(db, 0, 200)
    run = scheduler.run_now(job)
    assert run.outcome == "ok"
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 1
