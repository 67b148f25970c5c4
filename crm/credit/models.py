"""Negative lists (信用筛查): an imported list (严重失信主体名单, 经营异常名录, 重大安全/环保事故) and its entries.

An enterprise is "on a list" while it has an entry matched to it that is not removed (`removed_on` NULL): an
admin lifts an entry by hand, or a later import of the same kind and issuing body that replaces the previous
list lifts the entries no longer on it. The entries are the truth of who is listed; the readiness inputs carry
the clean-record flag the rules read (crm.credit.services keeps the two in step).
"""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.audit import ENTITY_LABELS
from crm.core.db import Base, UTCDateTime, utcnow
from crm.core.uow import register_unique
from crm.enterprises.models import Enterprise


class CreditListKind(StrEnum):
    """What kind of negative list a bureau received."""

    SERIOUS_BREACH = "serious_breach"
    ABNORMAL_OPERATION = "abnormal_operation"
    MAJOR_ACCIDENT = "major_accident"


CREDIT_LIST_KIND_LABELS = {
    CreditListKind.SERIOUS_BREACH: _l("List of seriously untrustworthy entities"),
    CreditListKind.ABNORMAL_OPERATION: _l("List of abnormal business operations"),
    CreditListKind.MAJOR_ACCIDENT: _l("Major safety or environmental accident"),
}
# the lists' own names, stored in the readiness inputs' source (data, read by officers in Chinese)
CREDIT_LIST_KIND_NAMES = {
    CreditListKind.SERIOUS_BREACH: "严重失信主体名单",
    CreditListKind.ABNORMAL_OPERATION: "经营异常名录",
    CreditListKind.MAJOR_ACCIDENT: "重大安全/环保事故",
}


class CreditList(Base):
    """One imported negative list: its kind, who issued it, when the bureau received it, the file, the counts."""

    __tablename__ = "credit_lists"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('serious_breach', 'abnormal_operation', 'major_accident')", name="kind_known"),
        sa.CheckConstraint("rows_total >= 0 AND matched >= 0 AND unmatched >= 0 AND lifted >= 0",
                           name="counts_not_negative"),
        sa.Index("ix_credit_lists_kind_received_on", "kind", "received_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    source: Mapped[str] = mapped_column(sa.String(160))  # the issuing body (发布机关) or where the list came from
    received_on: Mapped[date]
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    # True when it replaced the previous list of the same kind and source (the entries no longer on it lifted)
    replaces_previous: Mapped[bool] = mapped_column(default=False)
    imported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rows_total: Mapped[int] = mapped_column(default=0)
    matched: Mapped[int] = mapped_column(default=0)
    unmatched: Mapped[int] = mapped_column(default=0)
    lifted: Mapped[int] = mapped_column(default=0)  # entries of earlier lists this import lifted

    imported_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self):
        """The kind in the user's language."""
        return CREDIT_LIST_KIND_LABELS.get(self.kind, self.kind)


class CreditListEntry(Base):
    """One row of a list: the USCC and name as listed, when and why; the enterprise it matched (or none)."""

    __tablename__ = "credit_list_entries"
    __table_args__ = (
        sa.UniqueConstraint("list_id", "uscc", name="uq_credit_list_entries_list_id_uscc"),
        sa.CheckConstraint("removed_on IS NULL OR removed_on >= listed_on", name="removed_after_listed"),
        # "is this enterprise on a list now?": by enterprise, the active ones (removed_on NULL)
        sa.Index("ix_credit_list_entries_enterprise_removed", "enterprise_id", "removed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_lists.id"), index=True)
    uscc: Mapped[str] = mapped_column(sa.String(18), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    listed_on: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"))
    removed_on: Mapped[date | None]
    removed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    removed_note: Mapped[str] = mapped_column(sa.String(255), default="")

    credit_list: Mapped[CreditList] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()

    @property
    def is_active(self) -> bool:
        """Still on the list (not lifted)."""
        return self.removed_on is None


register_unique("uq_credit_list_entries_list_id_uscc", "file",
                _l("The same unified social credit code appears twice in the list."))
ENTITY_LABELS.update({"credit_lists": _l("Negative list"), "credit_list_entries": _l("Negative list entry")})
