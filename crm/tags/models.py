"""Tags (标签): a list kept per region or for everyone; manual on an enterprise, or decided by a rule."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.audit import ACTION_LABELS, ENTITY_LABELS
from crm.core.db import Base, TimestampMixin, UTCDateTime, utcnow
from crm.core.uow import register_unique
from crm.enterprises.models import Region


class TagKind(StrEnum):
    """Who decides a tag: an officer by hand, or its conditions (evaluated by the ladder's engine)."""

    MANUAL = "manual"
    RULE = "rule"


TAG_KIND_LABELS = {TagKind.MANUAL: _l("Manual"), TagKind.RULE: _l("By rule")}


class Tag(TimestampMixin, Base):
    """A tag of the list: its name, its region (none: every region), manual or by rule with its conditions."""

    __tablename__ = "tags"
    __table_args__ = (
        sa.UniqueConstraint("name", "region_id", name="uq_tags_name_region_id"),
        sa.CheckConstraint("kind IN ('manual', 'rule')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(8), default=TagKind.MANUAL)
    # a rule tag's conditions as its form states them (crm.tags.queries turns them into the engine's criteria)
    conditions: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict, server_default="{}")
    conditions_version: Mapped[int] = mapped_column(default=0, server_default="0")
    active: Mapped[bool] = mapped_column(default=True)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    region: Mapped[Region | None] = relationship()

    @property
    def kind_label(self):
        """The kind in the user's language."""
        return TAG_KIND_LABELS.get(self.kind, self.kind)


class EnterpriseTag(Base):
    """A tag on an enterprise: set by hand (who, when) or by the tag's rule at its last refresh."""

    __tablename__ = "enterprise_tags"
    __table_args__ = (sa.Index("ix_enterprise_tags_tag_id", "tag_id"),)

    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(sa.ForeignKey("tags.id"), primary_key=True)
    tagged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    tagged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    tag: Mapped[Tag] = relationship()


register_unique("uq_tags_name_region_id", "name", _l("This region already has a tag of that name."))
ENTITY_LABELS.update({"tags": _l("Tag"), "enterprise_tags": _l("Enterprise tag")})
ACTION_LABELS.update({"refresh": _l("Refreshed")})
