"""Monthly snapshots of the ladder: valid certifications by tier, region and officer at each month's end."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.db import Base, UTCDateTime, utcnow


class TierSnapshot(Base):
    """At `month_end`: in this region, for this tier and officer, how many enterprises held it, gained it, lost it.

    One row per (month_end, region, tier, officer); officer_id 0 stands for "no officer" so the
    unique key holds on every database (NULLs are never equal in a unique index).
    """

    __tablename__ = "tier_snapshots"
    __table_args__ = (
        sa.UniqueConstraint("month_end", "region_id", "tier", "officer_id", name="one_row_per_cell"),
        sa.CheckConstraint("tier IN ('tech_sme', 'little_giant', 'high_tech', 'gazelle', 'demonstration')",
                           name="tier_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month_end: Mapped[date] = mapped_column(index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    tier: Mapped[str] = mapped_column(sa.String(20))
    officer_id: Mapped[int] = mapped_column(default=0)
    valid: Mapped[int] = mapped_column(default=0)
    gained: Mapped[int] = mapped_column(default=0)
    lost: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
