"""A policy (政策) of the catalogue: what officers explain on visits (issue 10 adds eligibility rules)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.audit import ACTION_LABELS, ENTITY_LABELS
from crm.core.db import Base, TimestampMixin


class WindowState(StrEnum):
    """Where today lies against a policy's application window (an open bound never closes)."""

    OPEN = "open"
    CLOSED = "closed"
    NOT_YET_OPEN = "not_yet_open"


WINDOW_STATE_LABELS = {
    WindowState.OPEN: _l("Open now"),
    WindowState.CLOSED: _l("Applications closed"),
    WindowState.NOT_YET_OPEN: _l("Not yet open"),
}


class Policy(TimestampMixin, Base):
    """A support policy: title, issuing body, document number, summary, application window."""

    __tablename__ = "policies"
    __table_args__ = (sa.CheckConstraint("closes_on IS NULL OR opens_on IS NULL OR closes_on >= opens_on",
                                         name="closes_after_opens"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(160))
    issuer: Mapped[str] = mapped_column(sa.String(120), default="")
    document_no: Mapped[str] = mapped_column(sa.String(80), default="")
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    opens_on: Mapped[date | None]
    closes_on: Mapped[date | None]
    # Inactive policies stay on the visits that cite them but are no longer offered in the visit form.
    active: Mapped[bool] = mapped_column(default=True)
    # What an enterprise gets, in words, and its cap where it is an amount (万元).
    benefit: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    cap_amount: Mapped[Decimal | None]
    # Eligibility as the form states it (crm.policies.queries turns it into the engine's criteria); each
    # saved change is a new version, audited old → new.
    conditions: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict, server_default="{}")
    conditions_version: Mapped[int] = mapped_column(default=0, server_default="0")

    def window_state(self, today: date) -> WindowState:
        """Whether applications are open on `today`, closed, or not yet open."""
        if self.opens_on is not None and today < self.opens_on:
            return WindowState.NOT_YET_OPEN
        if self.closes_on is not None and today > self.closes_on:
            return WindowState.CLOSED
        return WindowState.OPEN


class PushStatus(StrEnum):
    """Where an eligible enterprise stands with a policy (no row: not informed yet)."""

    INFORMED = "informed"
    APPLIED = "applied"
    GRANTED = "granted"
    NOT_GRANTED = "not_granted"


PUSH_STATUS_LABELS = {
    "": _l("Not informed"),
    PushStatus.INFORMED: _l("Informed"),
    PushStatus.APPLIED: _l("Applied"),
    PushStatus.GRANTED: _l("Granted"),
    PushStatus.NOT_GRANTED: _l("Not granted"),
}
# informed → applied → granted | not granted; a step can be corrected back to the one before
PUSH_TRANSITIONS = {
    "": (PushStatus.INFORMED,),
    PushStatus.INFORMED: (PushStatus.APPLIED,),
    PushStatus.APPLIED: (PushStatus.GRANTED, PushStatus.NOT_GRANTED, PushStatus.INFORMED),
    PushStatus.GRANTED: (PushStatus.APPLIED,),
    PushStatus.NOT_GRANTED: (PushStatus.APPLIED,),
}


class PolicyPush(TimestampMixin, Base):
    """An enterprise's way through one policy (定向推送): informed, applied, granted (with the amount) or not."""

    __tablename__ = "policy_pushes"
    __table_args__ = (
        sa.UniqueConstraint("policy_id", "enterprise_id", name="uq_policy_pushes_one_per_pair"),
        sa.CheckConstraint("status IN ('informed', 'applied', 'granted', 'not_granted')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(sa.ForeignKey("policies.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(12))
    amount: Mapped[Decimal | None]
    informed_on: Mapped[date | None]
    applied_on: Mapped[date | None]
    decided_on: Mapped[date | None]
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


ENTITY_LABELS.update({"policies": _l("Policy"), "policy_pushes": _l("Policy push")})
ACTION_LABELS.update({"deactivate": _l("Deactivated"), "reactivate": _l("Reactivated")})


class ReservePoolEntry(TimestampMixin, Base):
    """An enterprise put in a tier's 后备库 (reserve pool) from the innovation points, with its coaching officer."""

    __tablename__ = "reserve_pool_entries"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "tier", name="uq_reserve_pool_entries_enterprise_id_tier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    tier: Mapped[str] = mapped_column(sa.String(20), default="high_tech")
    # the one officer who coaches it (一对一辅导); made its service officer when it had none
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    points: Mapped[Decimal] = mapped_column(sa.Numeric(8, 2))
    model_version: Mapped[int] = mapped_column(default=1)
    added_on: Mapped[date]
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    follow_up_id: Mapped[int | None] = mapped_column(sa.ForeignKey("follow_ups.id"))

    enterprise = relationship("Enterprise")
    officer = relationship("User", foreign_keys=[officer_id])


ENTITY_LABELS.update({"reserve_pool_entries": _l("Reserve pool entry")})


class EnterpriseGrade(TimestampMixin, Base):
    """An enterprise's A/B/C/D grade (亩均效益综合评价) for one accounting year, computed by the grading job."""

    __tablename__ = "enterprise_grades"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "year", name="uq_enterprise_grades_enterprise_id_year"),
                      sa.Index("ix_enterprise_grades_year_grade", "year", "grade"),
                      sa.CheckConstraint("grade IN ('A', 'B', 'C', 'D')", name="grade_known"))

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    year: Mapped[int]
    score: Mapped[Decimal] = mapped_column(sa.Numeric(8, 2))
    grade: Mapped[str] = mapped_column(sa.String(1))
    model_version: Mapped[int] = mapped_column(default=1)


GRADE_LABELS = {"A": _l("Grade A"), "B": _l("Grade B"), "C": _l("Grade C"), "D": _l("Grade D")}


class PolicyMatch(Base):
    """One enterprise against one policy as last evaluated (derived data, rebuilt by crm.policies.services
    `refresh_matches`): ready (eligible), incomplete (might be: data missing) or not_ready, and what is missing."""

    __tablename__ = "policy_matches"
    __table_args__ = (
        sa.UniqueConstraint("policy_id", "enterprise_id", name="uq_policy_matches_policy_id_enterprise_id"),
        # the readers: a policy's eligible enterprises (rates, drill-down, window job), one enterprise's policies
        sa.Index("ix_policy_matches_policy_id_verdict_enterprise_id", "policy_id", "verdict", "enterprise_id"),
        sa.Index("ix_policy_matches_enterprise_id", "enterprise_id"),
        sa.CheckConstraint("verdict IN ('ready', 'incomplete', 'not_ready')", name="verdict_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(sa.ForeignKey("policies.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id", ondelete="CASCADE"))
    verdict: Mapped[str] = mapped_column(sa.String(12))
    # for "incomplete": the ids of the criteria (crm.policies.queries.criteria_of) that lack data, shown as labels
    missing: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    conditions_version: Mapped[int]
    computed_at: Mapped[datetime]
