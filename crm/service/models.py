"""Service work: assignments (包保关系, history kept), visits, needs, follow-ups, referral departments."""
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
from crm.policies.models import Policy


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
        # At most one current assignment per enterprise (a partial unique index, on SQLite and PostgreSQL).
        sa.Index("uq_assignments_one_current", "enterprise_id", unique=True,
                 sqlite_where=sa.text("ends_on IS NULL"), postgresql_where=sa.text("ends_on IS NULL")),
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


# --- visits, needs, follow-ups (走访、需求、跟进) ----------------------------------------------

class VisitMode(StrEnum):
    """How a visit happened (Visit.mode)."""

    ONSITE = "onsite"
    PHONE = "phone"
    VIDEO = "video"
    EVENT = "event"
    WALK_IN = "walk_in"


VISIT_MODE_LABELS = {
    VisitMode.ONSITE: _l("On-site"),
    VisitMode.PHONE: _l("Phone"),
    VisitMode.VIDEO: _l("Video"),
    VisitMode.EVENT: _l("Event"),
    VisitMode.WALK_IN: _l("Walk-in"),
}


class NeedCategory(StrEnum):
    """Need categories (需求类别), in the glossary's order."""

    FINANCE = "finance"
    TALENT = "talent"
    TECHNOLOGY = "technology"
    PLATFORM = "platform"
    COMMERCIALISATION = "commercialisation"
    POLICY = "policy"
    CERTIFICATION = "certification"
    IP = "ip"
    COOPERATION = "cooperation"
    PREMISES = "premises"
    OTHER = "other"


NEED_CATEGORY_LABELS = {
    NeedCategory.FINANCE: _l("Funding & finance"),
    NeedCategory.TALENT: _l("Talent"),
    NeedCategory.TECHNOLOGY: _l("Technical problem"),
    NeedCategory.PLATFORM: _l("Platform building"),
    NeedCategory.COMMERCIALISATION: _l("Commercialisation"),
    NeedCategory.POLICY: _l("Policy question"),
    NeedCategory.CERTIFICATION: _l("Certification coaching"),
    NeedCategory.IP: _l("Intellectual property"),
    NeedCategory.COOPERATION: _l("Industry-university cooperation"),
    NeedCategory.PREMISES: _l("Land & premises"),
    NeedCategory.OTHER: _l("Other"),
}

# Days from "raised on" to the default due date, by category: quick answers are due sooner.
NEED_DUE_DAYS = {
    NeedCategory.POLICY: 7, NeedCategory.CERTIFICATION: 14, NeedCategory.IP: 30, NeedCategory.FINANCE: 30,
    NeedCategory.TALENT: 30, NeedCategory.PLATFORM: 60, NeedCategory.TECHNOLOGY: 60,
    NeedCategory.COMMERCIALISATION: 60, NeedCategory.COOPERATION: 60, NeedCategory.PREMISES: 90,
    NeedCategory.OTHER: 30,
}


class NeedStatus(StrEnum):
    """Need.status: open → in progress → resolved | referred | cannot resolve."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REFERRED = "referred"
    CANNOT_RESOLVE = "cannot_resolve"


NEED_STATUS_LABELS = {
    NeedStatus.OPEN: _l("Open"),
    NeedStatus.IN_PROGRESS: _l("In progress"),
    NeedStatus.RESOLVED: _l("Resolved"),
    NeedStatus.REFERRED: _l("Referred"),
    NeedStatus.CANNOT_RESOLVE: _l("Cannot resolve"),
}
# Needs still on the officer's desk (they count as open and can be overdue).
OPEN_NEED_STATUSES = (NeedStatus.OPEN, NeedStatus.IN_PROGRESS)
# Closing a need (any of these) needs a resolution text; a closed need can be reopened (in progress).
CLOSED_NEED_STATUSES = (NeedStatus.RESOLVED, NeedStatus.REFERRED, NeedStatus.CANNOT_RESOLVE)
NEED_TRANSITIONS: dict[str, tuple[str, ...]] = {
    NeedStatus.OPEN: (NeedStatus.IN_PROGRESS, *CLOSED_NEED_STATUSES),
    NeedStatus.IN_PROGRESS: CLOSED_NEED_STATUSES,
    NeedStatus.REFERRED: (NeedStatus.IN_PROGRESS, NeedStatus.RESOLVED, NeedStatus.CANNOT_RESOLVE),
    NeedStatus.RESOLVED: (NeedStatus.IN_PROGRESS,),
    NeedStatus.CANNOT_RESOLVE: (NeedStatus.IN_PROGRESS,),
}


class FollowUpSource(StrEnum):
    """Where a follow-up came from."""

    MANUAL = "manual"
    VISIT = "visit"
    NEED = "need"
    READINESS = "readiness"
    EXPIRY = "expiry"
    CALLBACK = "callback"  # 回访: ask the enterprise whether a resolved need really was (crm.referrals)


FOLLOW_UP_SOURCE_LABELS = {
    FollowUpSource.MANUAL: _l("By hand"),
    FollowUpSource.VISIT: _l("From a visit"),
    FollowUpSource.NEED: _l("From a need"),
    FollowUpSource.READINESS: _l("From a readiness gap"),
    FollowUpSource.EXPIRY: _l("Before a certificate expires"),
    FollowUpSource.CALLBACK: _l("Call-back on a resolved need"),
}


def _check_in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Department(Base):
    """A department a need can be referred to (转办), from a list the admin keeps."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


visit_policies = sa.Table(
    "visit_policies", Base.metadata,
    sa.Column("visit_id", sa.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("policy_id", sa.ForeignKey("policies.id"), primary_key=True),
)


class Visit(TimestampMixin, Base):
    """A visit (走访) of an officer to an enterprise, with the policies explained."""

    __tablename__ = "visits"
    __table_args__ = (
        sa.CheckConstraint(_check_in("mode", VisitMode), name="mode_known"),
        sa.Index("ix_visits_enterprise_date", "enterprise_id", "visited_on"),
        sa.Index("ix_visits_officer_date", "officer_id", "visited_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    visited_on: Mapped[date]
    mode: Mapped[str] = mapped_column(sa.String(12), default=VisitMode.ONSITE)
    people_met: Mapped[str] = mapped_column(sa.String(200), default="")
    summary: Mapped[str] = mapped_column(sa.Text, default="")

    enterprise: Mapped[Enterprise] = relationship()
    officer: Mapped[User] = relationship()
    policies: Mapped[list[Policy]] = relationship(secondary=visit_policies, order_by="Policy.title")

    @property
    def mode_label(self):
        """The mode in the user's language."""
        return VISIT_MODE_LABELS.get(self.mode, self.mode)


class Need(TimestampMixin, Base):
    """A need (需求) an enterprise raised, followed until it is closed.

    `version` is the optimistic lock: a save based on an older version is refused, never
    silently overwriting what someone else saved in between.
    """

    __tablename__ = "needs"
    __table_args__ = (
        sa.CheckConstraint(_check_in("category", NeedCategory), name="category_known"),
        sa.CheckConstraint(_check_in("status", NeedStatus), name="status_known"),
        sa.CheckConstraint("satisfaction IS NULL OR (satisfaction >= 1 AND satisfaction <= 5)",
                           name="satisfaction_range"),
        sa.CheckConstraint("due_on >= raised_on", name="due_after_raised"),
        sa.Index("ix_needs_owner_status_due", "owner_id", "status", "due_on"),
        sa.Index("ix_needs_status_due", "status", "due_on"),
        sa.Index("ix_needs_enterprise", "enterprise_id", "raised_on"),
        # the needs board counts category × status per enterprise in scope from this index alone
        sa.Index("ix_needs_enterprise_board", "enterprise_id", "category", "status"),
        # open needs by due date (the list's default order), without sorting every open need
        sa.Index("ix_needs_open_due", "due_on", "id", sqlite_where=sa.text("status IN ('open', 'in_progress')"),
                 postgresql_where=sa.text("status IN ('open', 'in_progress')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    category: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    raised_on: Mapped[date]
    due_on: Mapped[date]
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(sa.String(16), default=NeedStatus.OPEN)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    resolution: Mapped[str] = mapped_column(sa.Text, default="")
    closed_on: Mapped[date | None]
    satisfaction: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)
    # what came of it (entered when it is closed; summed per category in crm.performance): financing obtained,
    # people recruited, contracts signed and their value
    financing_wan: Mapped[Decimal | None]
    people_recruited: Mapped[int | None]
    contracts_signed: Mapped[int | None]
    contracts_wan: Mapped[Decimal | None]

    enterprise: Mapped[Enterprise] = relationship()
    visit: Mapped[Visit | None] = relationship(backref="needs")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    department: Mapped[Department | None] = relationship()
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        """Whether the need is still being worked on (open or in progress)."""
        return self.status in OPEN_NEED_STATUSES

    def is_overdue(self, today: date) -> bool:
        """Whether the need is open past its due date."""
        return self.is_open and self.due_on < today

    @property
    def status_label(self):
        """The status in the user's language."""
        return NEED_STATUS_LABELS.get(self.status, self.status)

    @property
    def category_label(self):
        """The category in the user's language."""
        return NEED_CATEGORY_LABELS.get(self.category, self.category)


class FollowUp(TimestampMixin, Base):
    """A follow-up (跟进): what to do for an enterprise, who, by when; done with a note."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        sa.CheckConstraint(_check_in("source", FollowUpSource), name="source_known"),
        sa.Index("ix_follow_ups_assignee_open_due", "assignee_id", "done_at", "due_on"),
        sa.Index("ix_follow_ups_enterprise", "enterprise_id", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    assignee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    due_on: Mapped[date]
    action: Mapped[str] = mapped_column(sa.String(200))
    need_id: Mapped[int | None] = mapped_column(sa.ForeignKey("needs.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    source: Mapped[str] = mapped_column(sa.String(12), default=FollowUpSource.MANUAL)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_note: Mapped[str] = mapped_column(sa.Text, default="")
    done_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    enterprise: Mapped[Enterprise] = relationship()
    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])
    need: Mapped[Need | None] = relationship(backref="follow_ups")
    visit: Mapped[Visit | None] = relationship(backref="follow_ups")

    @property
    def is_done(self) -> bool:
        """Whether the follow-up has been done."""
        return self.done_at is not None

    def is_overdue(self, today: date) -> bool:
        """Whether it is not done and past its due date."""
        return self.done_at is None and self.due_on < today


register_unique("uq_departments_name", "name", _l("A department of this name exists already."))
ENTITY_LABELS.update({
    "departments": _l("Department"), "visits": _l("Visit"), "needs": _l("Need"), "follow_ups": _l("Follow-up"),
})


class NeedComment(Base):
    """A comment on a need: the enterprise's (always visible to it) or the bureau's, visible to the
    enterprise or internal. Enterprise users never see internal comments (crm.portal.queries)."""

    __tablename__ = "need_comments"
    __table_args__ = (sa.Index("ix_need_comments_need", "need_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("needs.id"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    visible_to_enterprise: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    need: Mapped[Need] = relationship(backref="comments")
    author: Mapped[User | None] = relationship()


ENTITY_LABELS.update({"need_comments": _l("Comment")})
