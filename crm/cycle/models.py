"""The certification cycle: batches (申报批次) with deadlines, applications (申报) moving through their stages,
officers' flags on enterprises at risk of losing a tier, and the monthly bulletins (督查通报)."""
from __future__ import annotations

from datetime import date
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.audit import ENTITY_LABELS
from crm.core.db import Base, TimestampMixin
from crm.core.uow import register_unique
from crm.enterprises.models import Enterprise, Region

_TIERS_CHECK = "tier IN ('tech_sme', 'little_giant', 'high_tech', 'gazelle', 'demonstration')"


def _check_in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Stage(StrEnum):
    """Application.stage: intent → coaching → materials → submitted → review → public notice → certified |
    not passed (from any open stage)."""

    INTENT = "intent"
    COACHING = "coaching"
    MATERIALS = "materials"
    SUBMITTED = "submitted"
    REVIEW = "review"
    PUBLIC_NOTICE = "public_notice"
    CERTIFIED = "certified"
    NOT_PASSED = "not_passed"


STAGE_LABELS = {
    Stage.INTENT: _l("Intent"),
    Stage.COACHING: _l("Coaching"),
    Stage.MATERIALS: _l("Materials"),
    Stage.SUBMITTED: _l("Submitted online"),
    Stage.REVIEW: _l("Under review"),
    Stage.PUBLIC_NOTICE: _l("Public notice"),
    Stage.CERTIFIED: _l("Certified"),
    Stage.NOT_PASSED: _l("Not passed"),
}
# The open stages in their order; an application moves forward one step, or back one for a correction.
OPEN_STAGES = (Stage.INTENT, Stage.COACHING, Stage.MATERIALS, Stage.SUBMITTED, Stage.REVIEW, Stage.PUBLIC_NOTICE)
# The board's columns and the forward path (certified follows public notice).
PATH = (*OPEN_STAGES, Stage.CERTIFIED)
CLOSED_STAGES = (Stage.CERTIFIED, Stage.NOT_PASSED)


def allowed_moves(stage: str) -> tuple[str, ...]:
    """The stages an application at `stage` may move to: one forward, one back (correction), not passed."""
    if stage not in OPEN_STAGES:
        return ()
    i = PATH.index(Stage(stage))
    moves = [PATH[i + 1]]
    if i > 0:
        moves.append(PATH[i - 1])
    moves.append(Stage.NOT_PASSED)
    return tuple(moves)


class NotPassedReason(StrEnum):
    """Why an application did not pass."""

    INCOMPLETE = "incomplete"
    FAILED_REVIEW = "failed_review"
    WITHDRAWN = "withdrawn"
    OTHER = "other"


NOT_PASSED_REASON_LABELS = {
    NotPassedReason.INCOMPLETE: _l("Incomplete materials"),
    NotPassedReason.FAILED_REVIEW: _l("Failed the review"),
    NotPassedReason.WITHDRAWN: _l("Withdrawn"),
    NotPassedReason.OTHER: _l("Other"),
}


class Batch(TimestampMixin, Base):
    """An application round (申报批次) of one tier and year in a region, with a deadline per stage."""

    __tablename__ = "cycle_batches"
    __table_args__ = (
        sa.UniqueConstraint("region_id", "year", "tier", name="uq_cycle_batches_region_year_tier"),
        sa.CheckConstraint(_TIERS_CHECK, name="tier_known"),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    year: Mapped[int]
    tier: Mapped[str] = mapped_column(sa.String(20))
    # The last day to reach each stage (none for intent: an enterprise can say it wants to apply any time).
    coaching_by: Mapped[date | None]
    materials_by: Mapped[date | None]
    submitted_by: Mapped[date | None]
    review_by: Mapped[date | None]
    public_notice_by: Mapped[date | None]
    certified_by: Mapped[date | None]
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    region: Mapped[Region] = relationship()

    def deadline(self, stage: str) -> date | None:
        """The deadline to reach `stage` (None: no deadline)."""
        return getattr(self, f"{stage}_by", None)


DEADLINE_STAGES = (Stage.COACHING, Stage.MATERIALS, Stage.SUBMITTED, Stage.REVIEW, Stage.PUBLIC_NOTICE,
                   Stage.CERTIFIED)


class Application(TimestampMixin, Base):
    """One enterprise's application (申报) for a tier in a batch's year, with the day each stage was reached.

    `version` is the optimistic lock (as Need's): a move based on an older version is refused.
    Reaching "certified" records the certification once (`certification_id`, unique).
    """

    __tablename__ = "applications"
    __table_args__ = (
        sa.UniqueConstraint("enterprise_id", "tier", "year", name="uq_applications_enterprise_tier_year"),
        sa.UniqueConstraint("certification_id", name="uq_applications_certification_id"),
        sa.CheckConstraint(_check_in("stage", Stage), name="stage_known"),
        sa.CheckConstraint(_TIERS_CHECK, name="tier_known"),
        sa.CheckConstraint(f"not_passed_reason IS NULL OR {_check_in('not_passed_reason', NotPassedReason)}",
                           name="reason_known"),
        sa.Index("ix_applications_batch_stage", "batch_id", "stage"),
        sa.Index("ix_applications_year_tier_stage", "year", "tier", "stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle_batches.id"))
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    tier: Mapped[str] = mapped_column(sa.String(20))
    year: Mapped[int]
    stage: Mapped[str] = mapped_column(sa.String(16), default=Stage.INTENT)
    intent_on: Mapped[date]
    coaching_on: Mapped[date | None]
    materials_on: Mapped[date | None]
    submitted_on: Mapped[date | None]
    review_on: Mapped[date | None]
    public_notice_on: Mapped[date | None]
    certified_on: Mapped[date | None]
    not_passed_on: Mapped[date | None]
    not_passed_reason: Mapped[str | None] = mapped_column(sa.String(16))
    # the weak criterion of a failed review (a rule id such as ht_rd_ratio, or its words)
    weak_criterion: Mapped[str] = mapped_column(sa.String(120), default="")
    not_passed_note: Mapped[str] = mapped_column(sa.Text, default="")
    certification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certifications.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    batch: Mapped[Batch] = relationship()
    enterprise: Mapped[Enterprise] = relationship()
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def stage_label(self):
        """The stage in the user's language."""
        return STAGE_LABELS.get(self.stage, self.stage)

    @property
    def reason_label(self):
        """Why it did not pass, in the user's language ('' while it has not failed)."""
        return NOT_PASSED_REASON_LABELS.get(self.not_passed_reason, "") if self.not_passed_reason else ""

    @property
    def is_open(self) -> bool:
        """Whether the application is still moving."""
        return self.stage in OPEN_STAGES

    def reached_on(self, stage: str) -> date | None:
        """The day the application reached `stage`."""
        return getattr(self, f"{stage}_on")

    def is_late(self, today: date) -> bool:
        """Whether the deadline of the next stage has passed without reaching it."""
        if not self.is_open:
            return False
        nxt = PATH[PATH.index(Stage(self.stage)) + 1]
        due = self.batch.deadline(nxt)
        return due is not None and due < today


class FlagKind(StrEnum):
    """An officer's warning that an enterprise may be lost (保级预警)."""

    RELOCATION = "relocation"
    DIFFICULTIES = "difficulties"
    COURTED = "courted"


FLAG_LABELS = {
    FlagKind.RELOCATION: _l("Intends to relocate"),
    FlagKind.DIFFICULTIES: _l("Business difficulties"),
    FlagKind.COURTED: _l("Courted by another region"),
}


class EnterpriseFlag(TimestampMixin, Base):
    """One flag of an enterprise, raised or lowered by an officer (history in the audit trail)."""

    __tablename__ = "enterprise_flags"
    __table_args__ = (
        sa.UniqueConstraint("enterprise_id", "kind", name="uq_enterprise_flags_enterprise_kind"),
        sa.CheckConstraint(_check_in("kind", FlagKind), name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    @property
    def label(self):
        """The flag in the user's language."""
        return FLAG_LABELS.get(self.kind, self.kind)


class Bulletin(TimestampMixin, Base):
    """A monthly bulletin (督查通报) of a region: the manager's commentary; the figures are read when printed."""

    __tablename__ = "bulletins"
    __table_args__ = (
        sa.UniqueConstraint("region_id", "year", "month", name="uq_bulletins_region_month"),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name="month_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    year: Mapped[int]
    month: Mapped[int]
    commentary: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    region: Mapped[Region] = relationship()


register_unique("uq_cycle_batches_region_year_tier", "tier",
                _l("This region has a batch of this tier for this year already."))
register_unique("uq_applications_enterprise_tier_year", "enterprise_id",
                _l("This enterprise has an application for this tier and year already."))
register_unique("uq_bulletins_region_month", "month", _l("This region has a bulletin for this month already."))
ENTITY_LABELS.update({
    "cycle_batches": _l("Application batch"), "applications": _l("Application"),
    "enterprise_flags": _l("Risk flag"), "bulletins": _l("Bulletin"),
})
