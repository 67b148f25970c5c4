"""Reads of survey campaigns: the bank, campaigns and progress, who may fill, results and the needs raised.

Scoping: a campaign belongs to a region; bureau users see the campaigns of their region's subtree and of the
regions above it (a city campaign reaches a county). Responses, progress and results are always restricted to
the enterprises of the user's own subtree, so a county manager sees their county's responses only.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from crm.core import clock
from crm.core.policy import SYSTEM, Role, can
from crm.enterprises.models import Enterprise, Region
from crm.enterprises.queries import RegistryFilter, ancestor_ids, registry_query, subtree_ids
from crm.extensions import db
from crm.service.models import Assignment, Need, NeedStatus, Visit
from crm.service.queries import can_record, is_own_enterprise
from crm.surveys.models import (
    CampaignStatus,
    QuestionKind,
    SurveyAnswer,
    SurveyCampaign,
    SurveyCampaignQuestion,
    SurveyOption,
    SurveyQuestion,
    SurveyQuestionVersion,
    SurveyRaisedNeed,
    SurveyResponse,
    SurveyTarget,
)


def _near(user) -> list[int]:
    """The regions whose campaigns and questions reach `user`: their subtree and the regions above it."""
    return subtree_ids(user.region_id) + ancestor_ids(user.region_id)


def _is_regional(user) -> bool:
    return user.role in (Role.MANAGER, Role.OFFICER) and user.region_id is not None


# --- the question bank -------------------------------------------------------------------------------

def questions_query(user) -> Select:
    """The bank's questions `user` may use: everyone's (no region) and those of their region and above."""
    stmt = select(SurveyQuestion).options(selectinload(SurveyQuestion.versions)
                                          .selectinload(SurveyQuestionVersion.options),
                                          joinedload(SurveyQuestion.region)).order_by(SurveyQuestion.id)
    if user.role == Role.ADMIN:
        return stmt
    if not _is_regional(user):
        return stmt.where(false())
    return stmt.where(or_(SurveyQuestion.region_id.is_(None), SurveyQuestion.region_id.in_(_near(user))))


def can_manage_question(user, question: SurveyQuestion) -> bool:
    """Admins any question; a manager those of their subtree."""
    if not can(user, "surveys.manage"):
        return False
    if user.role == Role.ADMIN:
        return True
    return question.region_id is not None and question.region_id in subtree_ids(user.region_id)


def get_question_for(user, question_id: int) -> SurveyQuestion | None:
    """The question if `user` may see it (else None: 404)."""
    return db.session.scalar(questions_query(user).where(SurveyQuestion.id == question_id))


def version_in_launched_use(version: SurveyQuestionVersion) -> bool:
    """Whether a launched campaign asks this version (then it is frozen)."""
    return db.session.scalar(select(func.count()).select_from(SurveyCampaignQuestion).join(SurveyCampaign).where(
        SurveyCampaignQuestion.question_version_id == version.id,
        SurveyCampaign.status == CampaignStatus.LAUNCHED)) > 0


# --- campaigns ---------------------------------------------------------------------------------------

def campaigns_query(user) -> Select:
    """Campaigns reaching `user`, newest first."""
    stmt = select(SurveyCampaign).options(joinedload(SurveyCampaign.region)).order_by(
        SurveyCampaign.opens_on.desc(), SurveyCampaign.id.desc())
    if user.role == Role.ADMIN:
        return stmt
    if not _is_regional(user):
        return stmt.where(false())
    return stmt.where(SurveyCampaign.region_id.in_(_near(user)))


def get_campaign_for(user, campaign_id: int) -> SurveyCampaign | None:
    """The campaign if it reaches `user` (else None: 404)."""
    return db.session.scalar(campaigns_query(user).where(SurveyCampaign.id == campaign_id))


def can_manage_campaign(user, campaign: SurveyCampaign) -> bool:
    """Admins any campaign; a manager those of their subtree."""
    if not can(user, "surveys.manage"):
        return False
    return user.role == Role.ADMIN or campaign.region_id in subtree_ids(user.region_id)


def target_filter(campaign: SurveyCampaign) -> RegistryFilter:
    """The registry's filter that picks a campaign's enterprises (active, not archived)."""
    return RegistryFilter(region_id=campaign.target_region_id or campaign.region_id, tier=campaign.target_tier,
                          tag=campaign.target_tag_id, status="active")


def matching_enterprise_ids(campaign: SurveyCampaign) -> list[int]:
    """The enterprises the campaign's filter picks now (the registry's own query, unscoped)."""
    stmt = registry_query(SYSTEM, target_filter(campaign)).with_only_columns(Enterprise.id)
    return list(db.session.scalars(stmt))


def is_target(campaign: SurveyCampaign, enterprise: Enterprise) -> bool:
    """Whether the launched campaign asks this enterprise."""
    return db.session.scalar(select(SurveyTarget.id).where(SurveyTarget.campaign_id == campaign.id,
                                                           SurveyTarget.enterprise_id == enterprise.id)) is not None


def _scoped_enterprises(stmt: Select, user) -> Select:
    """Restrict a statement joined to Enterprise to the user's own subtree (admins: all)."""
    if user.role == Role.ADMIN:
        return stmt
    if not _is_regional(user):
        return stmt.where(false())
    return stmt.where(Enterprise.region_id.in_(subtree_ids(user.region_id)))


@dataclass
class Progress:
    """Answered of targeted, overall and per officer (their current enterprises), within the user's scope."""

    targeted: int = 0
    answered: int = 0
    by_officer: list = field(default_factory=list)  # (officer name or None, targeted, answered)

    @property
    def share(self) -> float:
        """The share answered (0 when none targeted)."""
        return self.answered / self.targeted if self.targeted else 0.0


def progress(user, campaign_ids: list[int]) -> dict[int, Progress]:
    """Progress of each campaign in `campaign_ids` within the user's scope (one query)."""
    from crm.auth.models import User

    if not campaign_ids:
        return {}
    stmt = (select(SurveyTarget.campaign_id, User.name, func.count(SurveyTarget.id), func.count(SurveyResponse.id))
            .join(Enterprise, Enterprise.id == SurveyTarget.enterprise_id)
            .outerjoin(SurveyResponse, (SurveyResponse.campaign_id == SurveyTarget.campaign_id)
                       & (SurveyResponse.enterprise_id == SurveyTarget.enterprise_id))
            .outerjoin(Assignment, (Assignment.enterprise_id == Enterprise.id) & Assignment.ends_on.is_(None))
            .outerjoin(User, User.id == Assignment.officer_id)
            .where(SurveyTarget.campaign_id.in_(campaign_ids))
            .group_by(SurveyTarget.campaign_id, User.id, User.name).order_by(User.name))
    out: dict[int, Progress] = {cid: Progress() for cid in campaign_ids}
    for cid, name, targeted, answered in db.session.execute(_scoped_enterprises(stmt, user)):
        p = out[cid]
        p.targeted += targeted
        p.answered += answered
        p.by_officer.append((name, targeted, answered))
    return out


def targets_query(user, campaign: SurveyCampaign, state: str = "") -> Select:
    """The campaign's enterprises in the user's scope (answered, not yet, or all), by name."""
    answered = select(SurveyResponse.enterprise_id).where(SurveyResponse.campaign_id == campaign.id)
    stmt = (select(Enterprise).join(SurveyTarget, SurveyTarget.enterprise_id == Enterprise.id)
            .where(SurveyTarget.campaign_id == campaign.id).order_by(Enterprise.name, Enterprise.id))
    if state == "answered":
        stmt = stmt.where(Enterprise.id.in_(answered))
    elif state == "missing":
        stmt = stmt.where(Enterprise.id.not_in(answered))
    return _scoped_enterprises(stmt, user)


def responses_by_enterprise(campaign: SurveyCampaign, enterprise_ids: list[int]) -> dict[int, SurveyResponse]:
    """The campaign's responses of these enterprises (one query for a page of targets)."""
    if not enterprise_ids:
        return {}
    return {r.enterprise_id: r for r in db.session.scalars(select(SurveyResponse).where(
        SurveyResponse.campaign_id == campaign.id, SurveyResponse.enterprise_id.in_(enterprise_ids)))}


# --- filling -----------------------------------------------------------------------------------------

def can_fill(user, campaign: SurveyCampaign, enterprise: Enterprise) -> bool:
    """Bureau users who may record for the enterprise, or its own contact, while the campaign is open to it."""
    if not campaign.is_open(clock.today()) or not is_target(campaign, enterprise):
        return False
    if can(user, "surveys.fill"):
        return can_record(user, enterprise)
    return is_own_enterprise(user, enterprise)


def response_of(campaign: SurveyCampaign, enterprise: Enterprise) -> SurveyResponse | None:
    """The enterprise's response to the campaign, if any."""
    return db.session.scalar(select(SurveyResponse).options(selectinload(SurveyResponse.answers)).where(
        SurveyResponse.campaign_id == campaign.id, SurveyResponse.enterprise_id == enterprise.id))


def open_campaigns_for(enterprise: Enterprise) -> list[tuple[SurveyCampaign, SurveyResponse | None]]:
    """Launched campaigns open today that ask this enterprise, with its response if given."""
    today = clock.today()
    stmt = (select(SurveyCampaign, SurveyResponse).join(SurveyTarget, SurveyTarget.campaign_id == SurveyCampaign.id)
            .outerjoin(SurveyResponse, (SurveyResponse.campaign_id == SurveyCampaign.id)
                       & (SurveyResponse.enterprise_id == enterprise.id))
            .where(SurveyTarget.enterprise_id == enterprise.id, SurveyCampaign.status == CampaignStatus.LAUNCHED,
                   SurveyCampaign.opens_on <= today, SurveyCampaign.closes_on >= today)
            .order_by(SurveyCampaign.closes_on))
    return [(c, r) for c, r in db.session.execute(stmt)]


def visit_for(user, visit_id, enterprise: Enterprise) -> Visit | None:
    """The visit a response is filled during: the enterprise's own, else None (never another's)."""
    if not visit_id or not str(visit_id).isdigit():
        return None
    visit = db.session.get(Visit, int(visit_id))
    return visit if visit is not None and visit.enterprise_id == enterprise.id else None


# --- results -----------------------------------------------------------------------------------------

@dataclass
class OptionRow:
    """An option's count and share of those who answered the question, with last year's if comparable."""

    label: str
    count: int
    share: float
    option_id: int | None = None
    raises_need: bool = False
    last_count: int | None = None
    last_share: float | None = None

    @property
    def change_points(self) -> float | None:
        """The change of the share in percentage points against last year."""
        return None if self.last_share is None else (self.share - self.last_share) * 100


@dataclass
class NumberStats:
    """Sum, mean and median of a number question's answers."""

    count: int = 0
    total: Decimal = Decimal("0")
    mean: Decimal | None = None
    median: Decimal | None = None


@dataclass
class QuestionResult:
    """The results of one question of a campaign."""

    campaign_question: SurveyCampaignQuestion
    answered: int
    options: list[OptionRow] = field(default_factory=list)
    numbers: NumberStats | None = None
    last: NumberStats | None = None  # numbers last year
    last_answered: int | None = None
    last_campaign: SurveyCampaign | None = None
    groups: list = field(default_factory=list)  # (group label, answered, {label: count} or NumberStats)

    @property
    def version(self) -> SurveyQuestionVersion:
        """The version the campaign asked."""
        return self.campaign_question.question_version

    @property
    def mean_change(self) -> Decimal | None:
        """The change of the mean against last year (numbers)."""
        if self.numbers is None or self.last is None or self.numbers.mean is None or self.last.mean is None:
            return None
        return self.numbers.mean - self.last.mean


def _answers(user, campaign_id: int, question_id: int) -> list[tuple[SurveyAnswer, Enterprise]]:
    stmt = (select(SurveyAnswer, Enterprise).join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .join(Enterprise, Enterprise.id == SurveyResponse.enterprise_id)
            .options(joinedload(Enterprise.region), joinedload(SurveyAnswer.question_version))
            .where(SurveyResponse.campaign_id == campaign_id, SurveyAnswer.question_id == question_id))
    return list(db.session.execute(_scoped_enterprises(stmt, user)))


def _given(answer: SurveyAnswer, kind: str) -> bool:
    if kind in (QuestionKind.SINGLE, QuestionKind.MULTI):
        return bool(answer.option_ids)
    if kind == QuestionKind.NUMBER:
        return answer.number_value is not None
    return bool(answer.text_value.strip())


def number_stats(values: list[Decimal]) -> NumberStats:
    """Count, sum, mean and median (to 2 places) of the values."""
    if not values:
        return NumberStats()
    total = sum(values, Decimal("0"))
    q = Decimal("0.01")
    return NumberStats(count=len(values), total=total, mean=(total / len(values)).quantize(q),
                       median=Decimal(statistics.median(values)).quantize(q))


def _option_counts(answers, labels: dict[int, str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for answer in answers:
        for oid in set(answer.option_ids):
            if oid in labels:
                counts[labels[oid]] += 1
    return counts


def _labels_of(campaign_id: int, question_id: int) -> dict[int, str]:
    """Option id → label for every version the campaign's answers to the question used."""
    stmt = (select(SurveyOption.id, SurveyOption.label)
            .join(SurveyCampaignQuestion, SurveyCampaignQuestion.question_version_id == SurveyOption.question_version_id)
            .where(SurveyCampaignQuestion.campaign_id == campaign_id, SurveyCampaignQuestion.question_id == question_id))
    return dict(db.session.execute(stmt).all())


def last_year_campaign(campaign: SurveyCampaign, question_id: int) -> SurveyCampaign | None:
    """Last year's launched campaign of the same region that asked the same question (any version)."""
    return db.session.scalar(
        select(SurveyCampaign).join(SurveyCampaignQuestion).where(
            SurveyCampaign.region_id == campaign.region_id, SurveyCampaign.status == CampaignStatus.LAUNCHED,
            SurveyCampaign.opens_on >= campaign.opens_on.replace(year=campaign.year - 1, month=1, day=1),
            SurveyCampaign.opens_on < campaign.opens_on.replace(month=1, day=1),
            SurveyCampaignQuestion.question_id == question_id)
        .order_by(SurveyCampaign.opens_on.desc(), SurveyCampaign.id.desc()).limit(1))


def _group_key(enterprise: Enterprise, by: str) -> str:
    if by == "industry":
        return (enterprise.industry_code or "?")[:1].upper()
    return enterprise.region.name if enterprise.region else "?"


def results(user, campaign: SurveyCampaign, by: str = "region") -> list[QuestionResult]:
    """Per question: totals and shares (choices) or sum/mean/median (numbers), by group, with last year's."""
    out = []
    for cq in campaign.questions:
        version = cq.question_version
        rows = [(a, e) for a, e in _answers(user, campaign.id, cq.question_id) if _given(a, version.kind)]
        answers = [a for a, _e in rows]
        result = QuestionResult(campaign_question=cq, answered=len(answers))
        previous = last_year_campaign(campaign, cq.question_id)
        last_answers = None
        if previous is not None:
            result.last_campaign = previous
            last_answers = [a for a, _e in _answers(user, previous.id, cq.question_id)
                            if _given(a, a.question_version.kind)]
            result.last_answered = len(last_answers)
        groups: dict[str, list] = defaultdict(list)
        for answer, enterprise in rows:
            groups[_group_key(enterprise, by)].append(answer)
        if version.is_choice:
            labels = _labels_of(campaign.id, cq.question_id)
            counts = _option_counts(answers, labels)
            last_counts = _option_counts(last_answers, _labels_of(previous.id, cq.question_id)) \
                if last_answers is not None else None
            for option in version.options:
                count = counts.get(option.label, 0)
                row = OptionRow(label=option.label, count=count, share=count / len(answers) if answers else 0.0,
                                option_id=option.id, raises_need=option.raises_need)
                if last_counts is not None:
                    row.last_count = last_counts.get(option.label, 0)
                    row.last_share = row.last_count / len(last_answers) if last_answers else 0.0
                result.options.append(row)
            result.groups = [(g, len(items), _option_counts(items, labels)) for g, items in sorted(groups.items())]
        elif version.kind == QuestionKind.NUMBER:
            result.numbers = number_stats([a.number_value for a in answers])
            if last_answers is not None:
                result.last = number_stats([a.number_value for a in last_answers])
            result.groups = [(g, len(items), number_stats([a.number_value for a in items]))
                             for g, items in sorted(groups.items())]
        else:
            result.groups = [(g, len(items), None) for g, items in sorted(groups.items())]
        out.append(result)
    return out


def texts(user, campaign: SurveyCampaign, question_id: int, limit: int = 50) -> list[tuple[str, str]]:
    """(enterprise name, text) of a text question's answers in the user's scope."""
    return [(e.name, a.text_value) for a, e in _answers(user, campaign.id, question_id)
            if a.text_value.strip()][:limit]


# --- the needs a question raised (the "done when") -------------------------------------------

@dataclass
class RaisedNeedRow:
    """A need raised by a response, with whether it (and its department referral) closed in time."""

    need: Need
    option_label: str
    referral: object = None  # the newest department referral (crm.referrals), if any

    @property
    def closed(self) -> bool:
        """Settled: resolved or cannot be resolved (a referral is a hand-over, not a close)."""
        return self.need.status in (NeedStatus.RESOLVED, NeedStatus.CANNOT_RESOLVE) and self.need.closed_on is not None

    @property
    def closed_in_time(self) -> bool:
        """Closed on or before its due date."""
        return self.closed and self.need.closed_on <= self.need.due_on

    @property
    def department_answered_in_time(self) -> bool | None:
        """Whether the department answered by the referral's deadline (None: never referred)."""
        if self.referral is None:
            return None
        answered = self.referral.answered_at
        return answered is not None and clock.local_date(answered) <= self.referral.due_on


@dataclass
class RaisedNeeds:
    """The needs a question of a campaign raised, in the user's scope, and their totals."""

    rows: list[RaisedNeedRow]
    enterprises: int

    @property
    def closed(self) -> int:
        """How many are closed."""
        return sum(r.closed for r in self.rows)

    @property
    def closed_in_time(self) -> int:
        """How many closed by their due date."""
        return sum(r.closed_in_time for r in self.rows)

    @property
    def referred(self) -> int:
        """How many were referred to a department."""
        return sum(r.referral is not None for r in self.rows)

    @property
    def departments_in_time(self) -> int:
        """How many referrals the department answered by the deadline."""
        return sum(bool(r.department_answered_in_time) for r in self.rows)

    @property
    def rated(self) -> int:
        """How many carry the enterprise's satisfaction."""
        return sum(r.need.satisfaction is not None for r in self.rows)

    @property
    def mean_satisfaction(self) -> Decimal | None:
        """The mean satisfaction (1–5) of the rated needs."""
        scores = [r.need.satisfaction for r in self.rows if r.need.satisfaction is not None]
        return (Decimal(sum(scores)) / len(scores)).quantize(Decimal("0.01")) if scores else None


def raised_needs(user, campaign: SurveyCampaign, question_id: int, option_id: int | None = None) -> RaisedNeeds:
    """The needs raised by the answers to one question of the campaign (optionally one option's)."""
    from crm.referrals.models import Referral

    stmt = (select(Need, SurveyOption.label, SurveyResponse.enterprise_id)
            .join(SurveyRaisedNeed, SurveyRaisedNeed.need_id == Need.id)
            .join(SurveyOption, SurveyOption.id == SurveyRaisedNeed.option_id)
            .join(SurveyQuestionVersion, SurveyQuestionVersion.id == SurveyOption.question_version_id)
            .join(SurveyResponse, SurveyResponse.id == SurveyRaisedNeed.response_id)
            .join(Enterprise, Enterprise.id == SurveyResponse.enterprise_id)
            .options(joinedload(Need.enterprise), joinedload(Need.department))
            .where(SurveyResponse.campaign_id == campaign.id, SurveyQuestionVersion.question_id == question_id)
            .order_by(Need.raised_on, Need.id))
    if option_id:
        stmt = stmt.where(SurveyOption.id == option_id)
    found = list(db.session.execute(_scoped_enterprises(stmt, user)))
    need_ids = [n.id for n, _l, _e in found]
    referrals: dict[int, Referral] = {}
    if need_ids:
        for ref in db.session.scalars(select(Referral).where(Referral.need_id.in_(need_ids))
                                      .order_by(Referral.referred_on, Referral.id)):
            referrals[ref.need_id] = ref  # the newest wins
    rows = [RaisedNeedRow(need=n, option_label=label, referral=referrals.get(n.id)) for n, label, _e in found]
    return RaisedNeeds(rows=rows, enterprises=len({e for _n, _l, e in found}))


def region_of(region_id: int | None) -> Region | None:
    """A region by id."""
    return db.session.get(Region, region_id) if region_id else None
