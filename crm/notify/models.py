"""Notifications, and the scheduler's bookkeeping: job runs (history) and job locks (one runner at a time)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.audit import ENTITY_LABELS
from crm.core.db import Base, UTCDateTime, utcnow


class Notification(Base):
    """A message to one user: what kind, its parameters (worded in the reader's language), a link, read or not.

    `dedupe_key` is unique: a job that runs twice, or again after a crash, finds its message
    already there and sends nothing more. Text is rendered when shown or mailed, never stored.
    """

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_unread", "user_id", "read_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    link: Mapped[str] = mapped_column(sa.String(255), default="")
    dedupe_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # E-mail: claimed (set) before sending, so a crash never sends twice; the error if sending failed.
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_error: Mapped[str] = mapped_column(sa.String(255), default="")


class JobRun(Base):
    """One run of a scheduled job for one slot (its scheduled time): when, how long, how it ended."""

    __tablename__ = "job_runs"
    __table_args__ = (
        sa.CheckConstraint("outcome IN ('running', 'ok', 'error')", name="outcome_known"),
        sa.Index("ix_job_runs_job_slot", "job_id", "scheduled_for"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.String(60))
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(sa.String(10), default="running")
    # what the job did ("12 notifications") or the error's last line
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    runner: Mapped[str] = mapped_column(sa.String(120), default="")
    manual: Mapped[bool] = mapped_column(default=False)

    @property
    def duration_ms(self) -> int | None:
        """How long the run took, in milliseconds (None while running)."""
        if self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


class JobLock(Base):
    """Who runs a job now, until when: taking it is one conditional UPDATE, atomic on SQLite and PostgreSQL."""

    __tablename__ = "job_locks"

    job_id: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(120), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


ENTITY_LABELS.update({"notifications": _l("Notification"), "job_runs": _l("Job run")})
