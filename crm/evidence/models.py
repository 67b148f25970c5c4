"""Evidence of service work: attachments (visits, needs, certifications), check-ins, joint visits, visit plans."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.audit import ENTITY_LABELS
from crm.core.db import Base, TimestampMixin, UTCDateTime, utcnow
from crm.core.uow import register_unique
from crm.enterprises.models import Enterprise
from crm.service.models import Visit


class ParentKind(StrEnum):
    """The records an attachment can belong to (Attachment.parent_type)."""

    VISIT = "visit"
    NEED = "need"
    CERTIFICATION = "certification"


class Attachment(Base):
    """A photo or file kept beside a visit, need or certification.

    The bytes live under ATTACHMENTS_DIR (outside static/) at a random name in sharded folders;
    `mime` is what the content was recognised as, never what the client claimed.
    """

    __tablename__ = "attachments"
    __table_args__ = (
        sa.CheckConstraint("parent_type IN ('visit', 'need', 'certification')", name="parent_known"),
        sa.Index("ix_attachments_parent", "parent_type", "parent_id"),
        sa.UniqueConstraint("stored_name", name="uq_attachments_stored_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_type: Mapped[str] = mapped_column(sa.String(16))
    parent_id: Mapped[int]
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    stored_name: Mapped[str] = mapped_column(sa.String(64))
    original_name: Mapped[str] = mapped_column(sa.String(200))
    mime: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    uploaded_by: Mapped[User | None] = relationship()

    @property
    def is_image(self) -> bool:
        """Whether the content is a picture shown inline."""
        return self.mime.startswith("image/")


visit_officers = sa.Table(
    "visit_officers", Base.metadata,
    sa.Column("visit_id", sa.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), primary_key=True),
    sa.Index("ix_visit_officers_user", "user_id"),
)

visit_departments = sa.Table(
    "visit_departments", Base.metadata,
    sa.Column("visit_id", sa.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("department_id", sa.ForeignKey("departments.id"), primary_key=True),
)


class CheckIn(Base):
    """An officer's arrival at an enterprise (签到): server time, and where the browser said it was, if allowed.

    Made on arrival, before the visit exists; recording the visit links it (visit_id).
    """

    __tablename__ = "visit_check_ins"
    __table_args__ = (
        sa.UniqueConstraint("visit_id", name="uq_visit_check_ins_visit_id"),
        sa.Index("ix_visit_check_ins_officer_at", "officer_id", "checked_in_at"),
        sa.CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude_range"),
        sa.CheckConstraint("longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="longitude_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    plan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visit_plans.id"))
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    latitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    accuracy_m: Mapped[int | None]

    officer: Mapped[User] = relationship()
    enterprise: Mapped[Enterprise] = relationship()
    visit: Mapped[Visit | None] = relationship()

    @property
    def has_location(self) -> bool:
        """Whether the browser gave a position."""
        return self.latitude is not None and self.longitude is not None


class VisitPlan(TimestampMixin, Base):
    """One planned visit (走访计划): an officer, an enterprise, a month with an optional week or date, a purpose.

    A visit recorded for the same enterprise in that month by the officer (author or joint) fills `visit_id`.
    """

    __tablename__ = "visit_plans"
    __table_args__ = (
        sa.UniqueConstraint("officer_id", "enterprise_id", "month", name="uq_visit_plans_officer_enterprise_month"),
        sa.Index("ix_visit_plans_month_officer", "month", "officer_id"),
        sa.Index("ix_visit_plans_enterprise_month", "enterprise_id", "month"),
        sa.CheckConstraint("planned_week IS NULL OR (planned_week >= 1 AND planned_week <= 5)", name="week_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    month: Mapped[date]  # the first day of the month
    planned_on: Mapped[date | None]
    planned_week: Mapped[int | None]
    purpose: Mapped[str] = mapped_column(sa.String(200), default="")
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    officer: Mapped[User] = relationship(foreign_keys=[officer_id])
    enterprise: Mapped[Enterprise] = relationship()
    visit: Mapped[Visit | None] = relationship()

    @property
    def is_done(self) -> bool:
        """Whether a visit has been recorded against the plan."""
        return self.visit_id is not None


register_unique("uq_visit_plans_officer_enterprise_month", "enterprise_id",
                _l("This enterprise is already in your plan for that month."))
ENTITY_LABELS.update({"attachments": _l("Attachment"), "visit_check_ins": _l("Check-in"),
                      "visit_plans": _l("Visit plan")})
