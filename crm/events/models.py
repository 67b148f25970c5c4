"""Events (宣讲会 / 培训): date, place, topic, the policies presented, who signed up and who attended."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.audit import ENTITY_LABELS
from crm.core.db import Base, TimestampMixin, UTCDateTime
from crm.enterprises.models import Enterprise, Region
from crm.policies.models import Policy


class EventKind(StrEnum):
    """A briefing on policies, or a training."""

    BRIEFING = "briefing"
    TRAINING = "training"


EVENT_KIND_LABELS = {EventKind.BRIEFING: _l("Policy briefing"), EventKind.TRAINING: _l("Training")}

event_policies = sa.Table(
    "event_policies", Base.metadata,
    sa.Column("event_id", sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("policy_id", sa.ForeignKey("policies.id"), primary_key=True),
)


class Event(TimestampMixin, Base):
    """An event organised by a region's bureau, with the policies it presents."""

    __tablename__ = "events"
    __table_args__ = (sa.CheckConstraint("kind IN ('briefing', 'training')", name="kind_known"),
                      sa.Index("ix_events_region_held", "region_id", "held_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10), default=EventKind.BRIEFING)
    topic: Mapped[str] = mapped_column(sa.String(160))
    held_on: Mapped[date]
    place: Mapped[str] = mapped_column(sa.String(160), default="")
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    region: Mapped[Region] = relationship()
    policies: Mapped[list[Policy]] = relationship(secondary=event_policies, order_by="Policy.title")

    @property
    def kind_label(self):
        """The kind in the user's language."""
        return EVENT_KIND_LABELS.get(self.kind, self.kind)


class EventAttendee(Base):
    """An enterprise signed up for an event; attended once attendance is recorded."""

    __tablename__ = "event_attendees"
    __table_args__ = (sa.UniqueConstraint("event_id", "enterprise_id", name="uq_event_attendees_event_id_enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    person: Mapped[str] = mapped_column(sa.String(60), default="")
    attended: Mapped[bool] = mapped_column(default=False)
    attended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    enterprise: Mapped[Enterprise] = relationship()


ENTITY_LABELS.update({"events": _l("Event"), "event_attendees": _l("Event attendee")})
