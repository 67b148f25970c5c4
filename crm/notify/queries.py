"""Reads of the inbox and of the scheduler's history."""
from __future__ import annotations

from sqlalchemy import Select, func, select

from crm.extensions import db
from crm.notify.models import JobRun, Notification


def unread_count(user) -> int:
    """How many of the user's notifications are unread (the bell's number)."""
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def inbox(user, state: str = "") -> Select:
    """The user's notifications, newest first; state "unread" for the unread only."""
    stmt = select(Notification).where(Notification.user_id == user.id)
    if state == "unread":
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.created_at.desc(), Notification.id.desc())


def last_runs(job_ids: list[str]) -> dict[str, JobRun]:
    """{job id: its latest run} (one query)."""
    latest = (select(JobRun.job_id, func.max(JobRun.id).label("id")).where(JobRun.job_id.in_(job_ids))
              .group_by(JobRun.job_id).subquery())
    rows = db.session.scalars(select(JobRun).join(latest, latest.c.id == JobRun.id))
    return {run.job_id: run for run in rows}


def runs_of(job_id: str) -> Select:
    """A job's runs, newest first."""
    return select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.id.desc())


def done_slot(job_id: str, slot) -> bool:
    """Whether the job has run successfully for this slot already."""
    return db.session.scalar(select(func.count()).select_from(JobRun).where(
        JobRun.job_id == job_id, JobRun.scheduled_for == slot, JobRun.outcome == "ok")) > 0


def scheduler_heartbeat():
    """The runner's heartbeat lease (a JobLock row), or None if no runner ever beat on this database."""
    from crm.notify.models import JobLock
    from crm.notify.scheduler import HEARTBEAT_ID

    return db.session.get(JobLock, HEARTBEAT_ID)
