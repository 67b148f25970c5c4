"""Needs closed across departments: a referral (转办) to a department with a deadline in working days, its answer,
extensions and return, escalation (督办); and the call-back (回访) on every resolved need."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.audit import ACTION_LABELS, ENTITY_LABELS
from crm.core.db import Base, TimestampMixin, UTCDateTime, utcnow
from crm.service.models import Department, FollowUp, Need


class ReferralStatus(StrEnum):
    """Referral.status: pending (the department's turn) → answered | returned."""

    PENDING = "pending"
    ANSWERED = "answered"
    RETURNED = "returned"


REFERRAL_STATUS_LABELS = {
    ReferralStatus.PENDING: _l("Awaiting the department"),
    ReferralStatus.ANSWERED: _l("Answered"),
    ReferralStatus.RETURNED: _l("Sent back"),
}


class Referral(TimestampMixin, Base):
    """A need referred to a department: due in working days; answered, given more time, or sent back.

    A need holds at most one open referral (closed_at NULL): it closes when the need leaves "referred"
    (resolved or reopened by its owner, or sent back by the department).
    """

    __tablename__ = "referrals"
    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'answered', 'returned')", name="status_known"),
        sa.Index("ix_referrals_department_status", "department_id", "status", "due_on"),
        sa.Index("ix_referrals_status_due", "status", "due_on"),
        sa.Index("ix_referrals_need", "need_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("needs.id"))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"))
    referred_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    referred_on: Mapped[date]
    due_on: Mapped[date]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(10), default=ReferralStatus.PENDING)
    answer: Mapped[str] = mapped_column(sa.Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    return_reason: Mapped[str] = mapped_column(sa.Text, default="")
    extensions: Mapped[int] = mapped_column(default=0)
    # 督办: how far overdue it has been escalated (0 = never), and when last
    escalation_level: Mapped[int] = mapped_column(default=0)
    escalated_on: Mapped[date | None]
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    need: Mapped[Need] = relationship()
    department: Mapped[Department] = relationship()
    referred_by: Mapped[User | None] = relationship(foreign_keys=[referred_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])

    @property
    def status_label(self):
        """The status in the user's language."""
        return REFERRAL_STATUS_LABELS.get(self.status, self.status)

    @property
    def is_open(self) -> bool:
        """Whether the referral still stands (the need is referred to the department)."""
        return self.closed_at is None

    def is_overdue(self, today: date) -> bool:
        """Whether the department has not answered by its deadline."""
        return self.is_open and self.status == ReferralStatus.PENDING and self.due_on < today


class NeedCallback(Base):
    """A call-back (回访) to the enterprise on a resolved need: satisfied or not, with a score 1–5.

    Not satisfied reopens the need (退回重办) with the reason.
    """

    __tablename__ = "need_callbacks"
    __table_args__ = (
        sa.CheckConstraint("satisfaction >= 1 AND satisfaction <= 5", name="satisfaction_range"),
        sa.Index("ix_need_callbacks_need", "need_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("needs.id"))
    follow_up_id: Mapped[int | None] = mapped_column(sa.ForeignKey("follow_ups.id"))
    satisfied: Mapped[bool]
    satisfaction: Mapped[int]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    need: Mapped[Need] = relationship()
    follow_up: Mapped[FollowUp | None] = relationship()
    recorded_by: Mapped[User | None] = relationship()


ENTITY_LABELS.update({"referrals": _l("Referral"), "need_callbacks": _l("Call-back")})
ACTION_LABELS.update({"answer": _l("Answered"), "extend": _l("Asked for more time"), "return": _l("Sent back"),
                      "escalate": _l("Escalated")})
