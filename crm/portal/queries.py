"""Reads of the enterprise portal and of the officers' review of submissions.

The portal's one rule: the enterprise is the signed-in user's own (`own_enterprise`), never one named by
the URL; a need or a submission is found only among that enterprise's own (else the view answers 404).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import joinedload

from crm.auth.models import User
from crm.core import clock
from crm.core.audit import AuditEvent
from crm.core.policy import Role, can
from crm.enterprises.models import AMOUNT_FIELDS, COUNT_FIELDS, AnnualFigures, Enterprise
from crm.enterprises.queries import can_edit_enterprise
from crm.extensions import db
from crm.ladder.models import Certification
from crm.ladder.queries import ladder_state
from crm.portal.models import Submission, SubmissionKind, SubmissionStatus
from crm.service.models import Assignment, Need
from crm.service.queries import current_assignment, need_comments, needs_of

# The values of a year's figures a submission carries, in the order the form shows them.
VALUE_FIELDS = (*AMOUNT_FIELDS, *COUNT_FIELDS)
# Certificates expiring within this many days are named in "what to do next".
EXPIRY_WARNING_DAYS = 180

# --- the own enterprise and its records ----------------------------------------------------------


def own_enterprise(user) -> Enterprise | None:
    """The signed-in enterprise user's enterprise (region loaded), else None."""
    if not can(user, "portal.use") or not user.enterprise_id:
        return None
    return db.session.get(Enterprise, user.enterprise_id, options=[joinedload(Enterprise.region)])


def own_need(enterprise: Enterprise, need_id: int) -> Need | None:
    """A need of this enterprise, else None (another enterprise's id leads nowhere)."""
    need = db.session.get(Need, need_id)
    return need if need is not None and need.enterprise_id == enterprise.id else None


def own_needs(enterprise: Enterprise) -> list[Need]:
    """Every need of the enterprise, open ones first, then by due date."""
    return list(db.session.scalars(needs_of(enterprise)))


def own_submission(enterprise: Enterprise, submission_id: int) -> Submission | None:
    """A submission of this enterprise, else None."""
    sub = db.session.get(Submission, submission_id)
    return sub if sub is not None and sub.enterprise_id == enterprise.id else None


def submissions_of(enterprise: Enterprise) -> list[Submission]:
    """The enterprise's submissions, newest first."""
    return list(db.session.scalars(select(Submission).where(Submission.enterprise_id == enterprise.id)
                                   .options(joinedload(Submission.reviewed_by))
                                   .order_by(Submission.submitted_at.desc(), Submission.id.desc())))


def officer_of(enterprise: Enterprise) -> User | None:
    """The enterprise's current service officer (name and phone shown in the portal), if any."""
    current = current_assignment(enterprise)
    return current.officer if current is not None and current.officer.is_active else None


# --- a need as the enterprise sees it --------------------------------------------------------------


@dataclass
class StoryEntry:
    """One line of a need's story in the portal: raised, a status change, a rating, a visible comment."""

    at: Any
    kind: str  # "raised", "status", "rated", "comment"
    who: str
    mine: bool = False
    status_from: str | None = None
    status_to: str | None = None
    text: str = ""
    satisfaction: int | None = None


def need_story(need: Need, user) -> list[StoryEntry]:
    """What the enterprise may see of a need's history, oldest first: no internal comments, no owner or
    due-date edits, no officers' notes. Status changes carry the resolution text the enterprise is told."""
    events = list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "needs", AuditEvent.entity_id == need.id).order_by(AuditEvent.at, AuditEvent.id)))
    ids = {e.actor_id for e in events if e.actor_id}
    comments = need_comments(need, enterprise_view=True)
    ids |= {c.author_id for c in comments if c.author_id}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}
    story = []
    for ev in events:
        who = names.get(ev.actor_id, "")
        mine = ev.actor_id == user.id
        if ev.action == "create":
            story.append(StoryEntry(ev.at, "raised", who, mine))
        elif ev.action == "status" and "status" in ev.changes:
            old, new = ev.changes["status"]
            resolution = (ev.changes.get("resolution") or [None, ""])[1] or ""
            story.append(StoryEntry(ev.at, "status", who, mine, old, new, resolution))
        elif ev.action == "update" and "satisfaction" in ev.changes and ev.changes["satisfaction"][1]:
            story.append(StoryEntry(ev.at, "rated", who, mine, satisfaction=ev.changes["satisfaction"][1]))
    for c in comments:
        story.append(StoryEntry(c.created_at, "comment", names.get(c.author_id, ""), c.author_id == user.id,
                                text=c.body))
    return sorted(story, key=lambda s: s.at)


# --- figures and their submissions -----------------------------------------------------------------


def plain_value(value) -> Any:
    """A figure value as stored in a submission's JSON (amounts as text with two places)."""
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.01")), "f")
    return value


def typed_figures(data: dict) -> dict:
    """A submission's JSON values back as Decimals (amounts) and ints (counts)."""
    out = {}
    for name in VALUE_FIELDS:
        value = data.get(name)
        if value is not None and name in AMOUNT_FIELDS:
            value = Decimal(str(value))
        out[name] = value
    return out


def accepted_figures(enterprise: Enterprise, year: int) -> AnnualFigures | None:
    """The enterprise's figures of `year` as they count now (accepted or entered by the bureau)."""
    return db.session.scalar(select(AnnualFigures).where(AnnualFigures.enterprise_id == enterprise.id,
                                                         AnnualFigures.year == year))


def figures_snapshot(figures: AnnualFigures | None) -> dict:
    """{field: plain value} of a year's figures ({} when the year has none)."""
    if figures is None:
        return {}
    return {name: plain_value(getattr(figures, name)) for name in VALUE_FIELDS}


def pending_figures(enterprise: Enterprise, year: int) -> Submission | None:
    """The pending figures submission of that year, if any."""
    return db.session.scalar(select(Submission).where(
        Submission.enterprise_id == enterprise.id, Submission.kind == SubmissionKind.FIGURES,
        Submission.year == year, Submission.status == SubmissionStatus.PENDING))


def next_revision(enterprise: Enterprise, kind: str, year: int | None) -> int:
    """The revision number of a new submission of that kind (and year)."""
    stmt = select(func.max(Submission.revision)).where(Submission.enterprise_id == enterprise.id,
                                                       Submission.kind == kind)
    if year is not None:
        stmt = stmt.where(Submission.year == year)
    return (db.session.scalar(stmt) or 0) + 1


def changed_since(sub: Submission) -> list[str]:
    """The figures the bureau changed after the enterprise submitted (a conflict at review), else []."""
    if sub.kind != SubmissionKind.FIGURES or not sub.is_pending:
        return []
    now = figures_snapshot(accepted_figures(sub.enterprise, sub.year))
    if now == sub.base:
        return []
    return [name for name in VALUE_FIELDS if now.get(name) != sub.base.get(name)]


@dataclass
class DiffRow:
    """One figure on the review page: the current value, the submitted one, and whether it changed."""

    name: str
    current: Any
    submitted: Any
    base: Any
    changed: bool
    conflict: bool


def figures_diff(sub: Submission) -> list[DiffRow]:
    """Each figure of a submission against the current accepted figures (and what they were when submitted)."""
    current = figures_snapshot(accepted_figures(sub.enterprise, sub.year)) if sub.is_pending else sub.base
    rows = []
    for name in VALUE_FIELDS:
        now, new, base = current.get(name), sub.data.get(name), sub.base.get(name)
        rows.append(DiffRow(name, now, new, base, changed=now != new,
                            conflict=sub.is_pending and now != base))
    return rows


# --- the officers' review ------------------------------------------------------------------------------


def can_review(user, sub: Submission) -> bool:
    """The officer who serves the enterprise now (in their region), or an admin."""
    return can(user, "submissions.review") and can_edit_enterprise(user, sub.enterprise)


def review_queue(user, *, status: str = SubmissionStatus.PENDING) -> Select:
    """Submissions `user` reviews: an admin's all, an officer's those of the enterprises they serve now."""
    stmt = (select(Submission).options(joinedload(Submission.enterprise), joinedload(Submission.submitted_by))
            .where(Submission.status == status))
    if user.role != Role.ADMIN:
        stmt = stmt.join(Assignment, and_(Assignment.enterprise_id == Submission.enterprise_id,
                                          Assignment.ends_on.is_(None))).where(Assignment.officer_id == user.id)
    order = Submission.submitted_at if status == SubmissionStatus.PENDING else Submission.reviewed_at.desc()
    return stmt.order_by(order, Submission.id)


def pending_count(user) -> int:
    """How many submissions wait for `user` (the workbench's link)."""
    return db.session.scalar(select(func.count()).select_from(review_queue(user).subquery())) or 0


# --- the portal's home ----------------------------------------------------------------------------------


@dataclass
class HeldCertificate:
    """A valid certificate and the days it has left."""

    cert: Certification
    days_left: int | None

    @property
    def expiring(self) -> bool:
        """Whether it runs out within EXPIRY_WARNING_DAYS."""
        return self.days_left is not None and self.days_left <= EXPIRY_WARNING_DAYS


def held_certificates(enterprise: Enterprise, today: date | None = None) -> list[HeldCertificate]:
    """The valid certificates, highest tier first, with the days left."""
    state = ladder_state(enterprise)
    today = today or state.today
    held = [c for c in state.certifications if c.is_valid_on(today)]
    held.sort(key=lambda c: -c.tier_enum.order)
    return [HeldCertificate(c, (c.expires_on - today).days if c.expires_on else None) for c in held]


def latest_complete_year(today: date | None = None) -> int:
    """The accounting year whose figures are due now (last year)."""
    return (today or clock.today()).year - 1


def figures_due(enterprise: Enterprise, today: date | None = None) -> int | None:
    """Last year, when the enterprise has no accepted figures and no pending submission for it; else None."""
    year = latest_complete_year(today)
    if accepted_figures(enterprise, year) is not None or pending_figures(enterprise, year) is not None:
        return None
    return year


def open_needs_total(enterprise: Enterprise) -> int:
    """The enterprise's needs still being worked on."""
    from crm.service.models import OPEN_NEED_STATUSES

    return db.session.scalar(select(func.count()).select_from(Need).where(
        Need.enterprise_id == enterprise.id, Need.status.in_(OPEN_NEED_STATUSES))) or 0


def recently_returned(enterprise: Enterprise, days: int = 60) -> list[Submission]:
    """Submissions returned to the enterprise in the last `days` days (it should look at the comment)."""
    since = clock.today() - timedelta(days=days)
    return [s for s in submissions_of(enterprise)
            if s.status == SubmissionStatus.RETURNED and s.reviewed_at and clock.local_date(s.reviewed_at) >= since]
