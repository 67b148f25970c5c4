"""The pipeline's data: monthly snapshots of the ladder, annual targets, the indicator table's entered values."""
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
from crm.enterprises.models import Region


class TierSnapshot(Base):
    """At `month_end`: in this region, for this tier and officer, how many enterprises held it, gained it, lost it.

    One row per (month_end, region, tier, officer); officer_id 0 stands for "no officer" so the
    unique key holds on every database (NULLs are never equal in a unique index).
    """

    __tablename__ = "tier_snapshots"
    __table_args__ = (
        sa.UniqueConstraint("month_end", "region_id", "tier", "officer_id", name="uq_tier_snapshots_one_row_per_cell"),
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


class Rollup(Base):
    """A province-wide aggregate the scheduler keeps fresh (the service counts behind the lights), keyed by leaf region.

    The dashboard's visits, needs and coverage read the two biggest tables; counting them on every page view
    cost 250 ms at province scale, so a job counts them every few minutes and pages read the result while it
    is fresh (PIPELINE_ROLLUP_MAX_AGE), and count live otherwise. One row per (kind, year), replaced in place.
    """

    __tablename__ = "pipeline_rollups"
    __table_args__ = (sa.UniqueConstraint("kind", "year", name="uq_pipeline_rollups_kind_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    year: Mapped[int]
    as_of: Mapped[date]  # the bureau's date the counts run to
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    duration_ms: Mapped[int] = mapped_column(default=0)
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class Metric(StrEnum):
    """What a target measures."""

    NEW_CERTS = "new_certs"  # certifications gained this year, per tier
    VALID_COUNT = "valid_count"  # enterprises holding a valid certification of the tier now
    VISITS = "visits"  # visits this year
    RESOLUTION_RATE = "resolution_rate"  # share of this year's needs closed, in %
    COVERAGE = "coverage"  # share of the region's enterprises visited this year, in %


METRIC_LABELS = {
    Metric.NEW_CERTS: _l("New certifications"),
    Metric.VALID_COUNT: _l("Valid certifications"),
    Metric.VISITS: _l("Visits"),
    Metric.RESOLUTION_RATE: _l("Needs resolution rate (%)"),
    Metric.COVERAGE: _l("Coverage: enterprises visited this year (%)"),
}
TIERED_METRICS = (Metric.NEW_CERTS, Metric.VALID_COUNT)
# How the expected value grows through the year: from zero (counts of the year), from where the year
# started (a stock), or not at all (a rate judged against its target whenever it is read).
METRIC_PACE = {Metric.NEW_CERTS: "cumulative", Metric.VISITS: "cumulative", Metric.COVERAGE: "cumulative",
               Metric.VALID_COUNT: "stock", Metric.RESOLUTION_RATE: "rate"}
PERCENT_METRICS = (Metric.RESOLUTION_RATE, Metric.COVERAGE)


class Target(TimestampMixin, Base):
    """A manager's annual target (年度目标) for one region and metric (and tier, for the tiered metrics)."""

    __tablename__ = "targets"
    __table_args__ = (
        sa.UniqueConstraint("year", "region_id", "metric", "tier", name="uq_targets_one_per_metric"),
        sa.CheckConstraint("metric IN ('new_certs', 'valid_count', 'visits', 'resolution_rate', 'coverage')",
                           name="metric_known"),
        sa.CheckConstraint("value >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    metric: Mapped[str] = mapped_column(sa.String(20))
    # "" for metrics without a tier, so the unique key holds on every database
    tier: Mapped[str] = mapped_column(sa.String(20), default="")
    value: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    region: Mapped[Region] = relationship()


class IndicatorValue(TimestampMixin, Base):
    """A value of the indicator table (建设指标体系) entered by a manager: one indicator, region and year."""

    __tablename__ = "indicator_values"
    __table_args__ = (sa.UniqueConstraint("year", "region_id", "code", name="uq_indicator_values_one_per_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    value: Mapped[Decimal] = mapped_column(sa.Numeric(16, 2))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


# The indicator table's rows (建设指标体系): the first five are counted from the ladder, the rest entered.
INDICATOR_LABELS = {
    "demonstration_count": _l("Innovation demonstration enterprises"),
    "gazelle_count": _l("Gazelle enterprises"),
    "high_tech_count": _l("National high-tech enterprises"),
    "little_giant_count": _l("Tech little giants"),
    "tech_sme_count": _l("Tech-based SMEs (registered)"),
    "rd_intensity": _l("R&D spending as a share of GDP (%)"),
    "rd_expense_total": _l("R&D spending of society (100M CNY)"),
    "tech_contracts": _l("Technology contract turnover (100M CNY)"),
    "invention_patents_per_10k": _l("Invention patents per 10,000 people"),
    "platforms": _l("Provincial and national innovation platforms"),
    "hightech_revenue_share": _l("High-tech enterprises' share of industrial revenue (%)"),
}

register_unique("uq_targets_one_per_metric", "value", _l("This target exists already; change it instead."))
ENTITY_LABELS.update({"targets": _l("Target"), "indicator_values": _l("Indicator value")})
