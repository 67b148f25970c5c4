"""What an enterprise submits in the portal for its officer to review: a year's figures or an IP item.

A submission never counts until an officer accepts it: readiness and statistics read AnnualFigures and
IntellectualProperty only, and accepting writes them (through crm.enterprises.services) in one unit of work.
`base` keeps the accepted figures as they were when the enterprise submitted, so an officer's edit made in
between is detected at review. A new figures submission for the same year supersedes a pending one (its
`revision` counts them); `version` is the optimistic lock against two reviewers at once.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.audit import ENTITY_LABELS
from crm.core.db import Base, UTCDateTime, utcnow
from crm.enterprises.models import Enterprise


class SubmissionKind(StrEnum):
    """What a submission holds."""

    FIGURES = "figures"
    IP = "ip"


SUBMISSION_KIND_LABELS = {
    SubmissionKind.FIGURES: _l("Annual figures"),
    SubmissionKind.IP: _l("Intellectual property"),
}


class SubmissionStatus(StrEnum):
    """Where a submission stands."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    SUPERSEDED = "superseded"


SUBMISSION_STATUS_LABELS = {
    SubmissionStatus.PENDING: _l("Waiting for review"),
    SubmissionStatus.ACCEPTED: _l("Accepted"),
    SubmissionStatus.RETURNED: _l("Returned"),
    SubmissionStatus.SUPERSEDED: _l("Replaced by a newer submission"),
}


def _check_in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Submission(Base):
    """Figures of one year, or one IP item, submitted by an enterprise user for review."""

    __tablename__ = "submissions"
    __table_args__ = (
        sa.CheckConstraint(_check_in("kind", SubmissionKind), name="kind_known"),
        sa.CheckConstraint(_check_in("status", SubmissionStatus), name="status_known"),
        sa.CheckConstraint("kind <> 'figures' OR year IS NOT NULL", name="figures_have_year"),
        sa.Index("ix_submissions_enterprise", "enterprise_id", "submitted_at"),
        sa.Index("ix_submissions_status", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    kind: Mapped[str] = mapped_column(sa.String(12))
    year: Mapped[int | None]
    revision: Mapped[int] = mapped_column(default=1)
    # the submitted values, JSON-safe (amounts as text in 万元, dates as ISO text)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # figures: the accepted values of that year when submitted ({} when the year had none)
    base: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(12), default=SubmissionStatus.PENDING)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_comment: Mapped[str] = mapped_column(sa.Text, default="")
    version: Mapped[int] = mapped_column(default=1)

    enterprise: Mapped[Enterprise] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_pending(self) -> bool:
        """Whether it still waits for an officer."""
        return self.status == SubmissionStatus.PENDING

    @property
    def status_label(self):
        """The status in the user's language."""
        return SUBMISSION_STATUS_LABELS.get(self.status, self.status)

    @property
    def kind_label(self):
        """The kind in the user's language."""
        return SUBMISSION_KIND_LABELS.get(self.kind, self.kind)


ENTITY_LABELS.update({"submissions": _l("Submission")})
