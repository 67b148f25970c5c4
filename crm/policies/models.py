"""A policy (政策) of the catalogue: what officers explain on visits (issue 10 adds eligibility rules)."""
from __future__ import annotations

from datetime import date
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.audit import ACTION_LABELS, ENTITY_LABELS
from crm.core.db import Base, TimestampMixin


class WindowState(StrEnum):
    """Where today lies against a policy's application window (an open bound never closes)."""

    OPEN = "open"
    CLOSED = "closed"
    NOT_YET_OPEN = "not_yet_open"


WINDOW_STATE_LABELS = {
    WindowState.OPEN: _l("Open now"),
    WindowState.CLOSED: _l("Closed"),
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

    def window_state(self, today: date) -> WindowState:
        """Whether applications are open on `today`, closed, or not yet open."""
        if self.opens_on is not None and today < self.opens_on:
            return WindowState.NOT_YET_OPEN
        if self.closes_on is not None and today > self.closes_on:
            return WindowState.CLOSED
        return WindowState.OPEN


ENTITY_LABELS.update({"policies": _l("Policy")})
ACTION_LABELS.update({"deactivate": _l("Deactivated"), "reactivate": _l("Reactivated")})
