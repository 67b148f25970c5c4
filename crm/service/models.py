"""Assignments (包保关系): which officer serves which enterprise, from when to when; history kept."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.audit import ENTITY_LABELS
from crm.core.db import Base, UTCDateTime, utcnow
from crm.enterprises.models import Enterprise


class Assignment(Base):
    """An officer serving an enterprise from `starts_on` until `ends_on` (NULL = current).

    At most one current assignment per enterprise (crm.service.services keeps it so);
    reassigning ends the current one and starts a new one, so the rows are the history.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        sa.Index("ix_assignments_enterprise_current", "enterprise_id", "ends_on"),
        sa.Index("ix_assignments_officer_current", "officer_id", "ends_on"),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    enterprise: Mapped[Enterprise] = relationship()
    officer: Mapped[User] = relationship(foreign_keys=[officer_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])

    @property
    def is_current(self) -> bool:
        """Whether the officer serves the enterprise now."""
        return self.ends_on is None


ENTITY_LABELS.update({"assignments": _l("Assignment")})
