"""Survey campaigns (需求摸排): versioned questions, campaigns built from them, one response per enterprise.

A question (SurveyQuestion) is the stable thing year-on-year comparisons follow; its wording and options
live in versions (SurveyQuestionVersion). Editing a question whose current version a launched campaign
uses makes a new version, so answers always keep the version they answered.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.audit import ENTITY_LABELS
from crm.core.db import Base, TimestampMixin, UTCDateTime, utcnow
from crm.core.uow import register_unique
from crm.enterprises.models import Enterprise, Region


class QuestionKind(StrEnum):
    """How a question is answered."""

    SINGLE = "single"
    MULTI = "multi"
    NUMBER = "number"
    TEXT = "text"


QUESTION_KIND_LABELS = {
    QuestionKind.SINGLE: _l("Single choice"),
    QuestionKind.MULTI: _l("Multiple choice"),
    QuestionKind.NUMBER: _l("Number"),
    QuestionKind.TEXT: _l("Text"),
}
CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTI)


class SurveyQuestion(TimestampMixin, Base):
    """A question of the bank, kept by a region's managers (or an admin for everyone); its versions below."""

    __tablename__ = "survey_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    current_version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    region: Mapped[Region | None] = relationship()
    versions: Mapped[list[SurveyQuestionVersion]] = relationship(
        back_populates="question", order_by="SurveyQuestionVersion.version")

    @property
    def current(self) -> SurveyQuestionVersion:
        """The version new campaigns use."""
        return next(v for v in self.versions if v.version == self.current_version)


class SurveyQuestionVersion(Base):
    """One wording of a question with its options; frozen once a launched campaign uses it."""

    __tablename__ = "survey_question_versions"
    __table_args__ = (
        sa.UniqueConstraint("question_id", "version", name="uq_survey_question_versions_question_version"),
        sa.CheckConstraint("kind IN ('single', 'multi', 'number', 'text')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_questions.id"))
    version: Mapped[int] = mapped_column(default=1)
    kind: Mapped[str] = mapped_column(sa.String(8))
    text: Mapped[str] = mapped_column(sa.String(200))
    unit: Mapped[str] = mapped_column(sa.String(20), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    question: Mapped[SurveyQuestion] = relationship(back_populates="versions")
    options: Mapped[list[SurveyOption]] = relationship(back_populates="question_version",
                                                       order_by="SurveyOption.position",
                                                       cascade="all, delete-orphan")

    @property
    def kind_label(self):
        """The kind in the user's language."""
        return QUESTION_KIND_LABELS.get(self.kind, self.kind)

    @property
    def is_choice(self) -> bool:
        """Whether it is answered by choosing options."""
        return self.kind in CHOICE_KINDS


class SurveyOption(Base):
    """An option of a choice question's version, with its rule: raise a need and/or set an enterprise flag."""

    __tablename__ = "survey_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_version_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_question_versions.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(sa.String(100))
    need_category: Mapped[str] = mapped_column(sa.String(20), default="")
    need_title: Mapped[str] = mapped_column(sa.String(120), default="")
    flag_kind: Mapped[str] = mapped_column(sa.String(16), default="")

    question_version: Mapped[SurveyQuestionVersion] = relationship(back_populates="options")

    @property
    def raises_need(self) -> bool:
        """Whether choosing it raises a need."""
        return bool(self.need_category)


class CampaignStatus(StrEnum):
    """A campaign is drafted, then launched (its questions and enterprises fixed)."""

    DRAFT = "draft"
    LAUNCHED = "launched"


CAMPAIGN_STATUS_LABELS = {CampaignStatus.DRAFT: _l("Draft"), CampaignStatus.LAUNCHED: _l("Launched")}


class SurveyCampaign(TimestampMixin, Base):
    """A questionnaire sent to a set of enterprises of a region for a period (需求摸排)."""

    __tablename__ = "survey_campaigns"
    __table_args__ = (
        sa.CheckConstraint("status IN ('draft', 'launched')", name="status_known"),
        sa.CheckConstraint("closes_on >= opens_on", name="period_ordered"),
        sa.Index("ix_survey_campaigns_region_opens", "region_id", "opens_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    opens_on: Mapped[date]
    closes_on: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(10), default=CampaignStatus.DRAFT)
    # which enterprises (the registry's filters): a region within the campaign's, a tier, a tag
    target_region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"))
    target_tier: Mapped[str] = mapped_column(sa.String(20), default="")
    target_tag_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tags.id"))
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    region: Mapped[Region] = relationship(foreign_keys=[region_id])
    target_region: Mapped[Region | None] = relationship(foreign_keys=[target_region_id])
    questions: Mapped[list[SurveyCampaignQuestion]] = relationship(
        back_populates="campaign", order_by="SurveyCampaignQuestion.position", cascade="all, delete-orphan")

    @property
    def year(self) -> int:
        """The year it belongs to (the year it opens)."""
        return self.opens_on.year

    @property
    def is_launched(self) -> bool:
        """Whether it has been launched."""
        return self.status == CampaignStatus.LAUNCHED

    def is_open(self, today: date) -> bool:
        """Whether responses may be given or changed on `today`."""
        return self.is_launched and self.opens_on <= today <= self.closes_on

    @property
    def status_label(self):
        """The status in the user's language."""
        return CAMPAIGN_STATUS_LABELS.get(self.status, self.status)


class SurveyCampaignQuestion(Base):
    """A question of a campaign's questionnaire, in order, pinned to a version."""

    __tablename__ = "survey_campaign_questions"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "question_id", name="uq_survey_campaign_questions_campaign_question"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_campaigns.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_questions.id"), index=True)
    question_version_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_question_versions.id"))
    position: Mapped[int] = mapped_column(default=0)

    campaign: Mapped[SurveyCampaign] = relationship(back_populates="questions")
    question: Mapped[SurveyQuestion] = relationship()
    question_version: Mapped[SurveyQuestionVersion] = relationship()


class SurveyTarget(Base):
    """An enterprise a launched campaign asks (fixed at launch so progress means something)."""

    __tablename__ = "survey_targets"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "enterprise_id", name="uq_survey_targets_campaign_enterprise"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_campaigns.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)

    enterprise: Mapped[Enterprise] = relationship()


class SurveyResponse(TimestampMixin, Base):
    """One enterprise's answers to one campaign (one per enterprise, editable until the campaign closes)."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "enterprise_id", name="uq_survey_responses_campaign_enterprise"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_campaigns.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    filled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    campaign: Mapped[SurveyCampaign] = relationship()
    enterprise: Mapped[Enterprise] = relationship()
    answers: Mapped[list[SurveyAnswer]] = relationship(back_populates="response", cascade="all, delete-orphan")


class SurveyAnswer(Base):
    """The answer to one question version: chosen option ids, a number, or a text."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        sa.UniqueConstraint("response_id", "question_id", name="uq_survey_answers_response_question"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_responses.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_questions.id"), index=True)
    question_version_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_question_versions.id"))
    option_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list, server_default="[]")
    number_value: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    text_value: Mapped[str] = mapped_column(sa.Text, default="")

    response: Mapped[SurveyResponse] = relationship(back_populates="answers")
    question_version: Mapped[SurveyQuestionVersion] = relationship()


class SurveyRaisedNeed(Base):
    """The need an option's rule raised for a response: once, however often the response is saved."""

    __tablename__ = "survey_raised_needs"
    __table_args__ = (
        sa.UniqueConstraint("response_id", "option_id", name="uq_survey_raised_needs_response_option"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_responses.id", ondelete="CASCADE"))
    option_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_options.id"))
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("needs.id"), index=True)


register_unique("uq_survey_responses_campaign_enterprise", "",
                _l("This enterprise has answered this campaign already: open its response to change it."))
ENTITY_LABELS.update({
    "survey_questions": _l("Survey question"), "survey_campaigns": _l("Survey campaign"),
    "survey_responses": _l("Survey response"),
})
