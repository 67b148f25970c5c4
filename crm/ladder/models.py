"""The ladder's models: certifications, tier events (the timeline), readiness inputs, rule-set versions."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.audit import ENTITY_LABELS
from crm.core.db import Base, TimestampMixin, UTCDateTime, utcnow
from crm.core.uow import register_unique
from crm.enterprises.models import Enterprise
from crm.ladder.tiers import Tier


class CertificationStatus(StrEnum):
    """Status of a certification."""

    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


CERTIFICATION_STATUS_LABELS = {
    CertificationStatus.ACTIVE: _l("Valid"),
    CertificationStatus.EXPIRED: _l("Expired"),
    CertificationStatus.REVOKED: _l("Revoked"),
}


class Certification(TimestampMixin, Base):
    """A certification (资质) of one tier held by an enterprise."""

    __tablename__ = "certifications"
    __table_args__ = (
        sa.CheckConstraint("tier IN ('tech_sme', 'little_giant', 'high_tech', 'gazelle', 'demonstration')",
                           name="tier_known"),
        sa.CheckConstraint("status IN ('active', 'expired', 'revoked')", name="status_known"),
        sa.CheckConstraint("expires_on IS NULL OR expires_on >= issued_on", name="expires_after_issue"),
        sa.Index("ix_certifications_tier_status", "tier", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    tier: Mapped[str] = mapped_column(sa.String(20))
    # 证书编号, or the 入库登记编号 of a tech_sme registration.
    certificate_no: Mapped[str] = mapped_column(sa.String(40))
    issued_on: Mapped[date]
    expires_on: Mapped[date | None] = mapped_column(index=True)
    # True when the officer typed the expiry instead of accepting the computed one.
    expiry_overridden: Mapped[bool] = mapped_column(default=False)
    issuer: Mapped[str] = mapped_column(sa.String(120), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default=CertificationStatus.ACTIVE)
    status_changed_on: Mapped[date | None]
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    # The optimistic lock (crm.core.concurrency): a save based on an older version is refused.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    enterprise: Mapped[Enterprise] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def tier_enum(self) -> Tier:
        """The tier as an enum (its order and label)."""
        return Tier(self.tier)

    @property
    def status_label(self):
        """The status in the user's language."""
        return CERTIFICATION_STATUS_LABELS[CertificationStatus(self.status)]

    def is_valid_on(self, day: date) -> bool:
        """Active and not past its expiry on `day`."""
        return (self.status == CertificationStatus.ACTIVE and self.issued_on <= day
                and (self.expires_on is None or self.expires_on >= day))


class TierEventKind(StrEnum):
    """What happened to a certification."""

    GAINED = "gained"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REINSTATED = "reinstated"


TIER_EVENT_LABELS = {
    TierEventKind.GAINED: _l("Certified"),
    TierEventKind.EXPIRED: _l("Expired"),
    TierEventKind.REVOKED: _l("Revoked"),
    TierEventKind.REINSTATED: _l("Reinstated"),
}


class TierEvent(Base):
    """One step on an enterprise's ladder timeline; the pipeline counts these by month."""

    __tablename__ = "tier_events"
    __table_args__ = (sa.Index("ix_tier_events_tier_occurred_on", "tier", "occurred_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    certification_id: Mapped[int] = mapped_column(sa.ForeignKey("certifications.id"), index=True)
    tier: Mapped[str] = mapped_column(sa.String(20))
    kind: Mapped[str] = mapped_column(sa.String(16))
    occurred_on: Mapped[date]
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    certification: Mapped[Certification] = relationship()

    @property
    def kind_label(self):
        """What happened, in the user's language."""
        return TIER_EVENT_LABELS[TierEventKind(self.kind)]


# The profile's flags (readiness-profile.md) and the 高企 judgement items an officer enters.
FLAG_FIELDS = ("resident", "restricted_industry", "clean_record", "national_award_top3_5y",
               "provincial_rd_institution", "led_standard_5y")
JUDGEMENT_FIELDS = ("ip_advancement", "ip_core_support", "ip_acquisition", "ip_standards_bonus", "management")
JUDGEMENT_MAX = {"ip_advancement": 8, "ip_core_support": 8, "ip_acquisition": 6, "ip_standards_bonus": 2,
                 "management": 20}


class ReadinessInputs(Base):
    """Per enterprise: the yes/no facts and the officer's judgement items the rules read.

    NULL means "not known yet": the criterion that reads it is unknown, never a pass.
    """

    __tablename__ = "readiness_inputs"
    __table_args__ = tuple(
        sa.CheckConstraint(f"{name} IS NULL OR ({name} >= 0 AND {name} <= {top})", name=f"{name}_range")
        for name, top in JUDGEMENT_MAX.items()
    )

    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), primary_key=True)
    resident: Mapped[bool | None]
    restricted_industry: Mapped[bool | None]
    clean_record: Mapped[bool | None]
    national_award_top3_5y: Mapped[bool | None]
    provincial_rd_institution: Mapped[bool | None]
    led_standard_5y: Mapped[bool | None]
    ip_advancement: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 1))
    ip_core_support: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 1))
    ip_acquisition: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 1))
    ip_standards_bonus: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 1))
    management: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 1))
    # The credit screening's provenance of `clean_record` (crm.credit): while the enterprise is on a negative
    # list the flag is False and these say which list set it (its name, issuing body and import, as text) and
    # since when; `clean_record_before_list` keeps the officer's own answer, restored when the last entry is
    # lifted. Kept here, beside the flag, rather than read from the entries: every reader of the flag (the
    # engine's profiles in bulk, policy eligibility, the readiness sheets) loads this row already, so the
    # source costs no join, and the text stays readable should a list's rows ever be pruned.
    clean_record_source: Mapped[str] = mapped_column(sa.String(255), default="", server_default="")
    clean_record_on: Mapped[date | None]
    clean_record_before_list: Mapped[bool | None]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class RuleSetVersion(Base):
    """An admin's version of a tier's rule set; the newest per tier is in force, old ones stay readable."""

    __tablename__ = "ruleset_versions"
    __table_args__ = (sa.UniqueConstraint("tier", "version", name="uq_ruleset_versions_tier_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tier: Mapped[str] = mapped_column(sa.String(20))
    version: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# A rank stored without its gap texts, as SQL: the partial index's condition and the query that uses it.
UNTEXTED_SQL = "gaps IS NULL"


class CandidateRank(Base):
    """One operating enterprise's standing toward one tier as last evaluated (derived data, rebuilt by
    crm.ladder.services `refresh_ranks`): the candidate pool reads it in rank order, 50 rows a page, instead of
    evaluating a province on every page view. `ruleset_version` is the admin version it was computed under (0:
    shipped); a row of an older version counts as missing."""

    __tablename__ = "candidate_ranks"
    __table_args__ = (
        sa.UniqueConstraint("tier", "enterprise_id", name="uq_candidate_ranks_tier_enterprise_id"),
        # the pool's ORDER BY … LIMIT 50 walks this index (engine.rank_key, then the name)
        sa.Index("ix_candidate_ranks_order", "tier", "holds", "verdict_rank", "failing", "gap_total", "unknown",
                 "name"),
        # the pool's counts by verdict in a region, read from the index alone
        sa.Index("ix_candidate_ranks_region", "tier", "region_id", "holds", "verdict", "ruleset_version"),
        sa.Index("ix_candidate_ranks_enterprise_id", "enterprise_id"),
        # the ranks a bulk import stored without their gap texts, which the 5-minute job fills (empty, and so
        # tiny, the rest of the time: the job's check does not scan the table)
        sa.Index("ix_candidate_ranks_untexted", "enterprise_id", postgresql_where=sa.text(UNTEXTED_SQL),
                 sqlite_where=sa.text(UNTEXTED_SQL)),
        sa.CheckConstraint("tier IN ('tech_sme', 'little_giant', 'high_tech', 'gazelle', 'demonstration')",
                           name="tier_known"),
        sa.CheckConstraint("verdict IN ('ready', 'incomplete', 'not_ready')", name="verdict_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id", ondelete="CASCADE"))
    tier: Mapped[str] = mapped_column(sa.String(20))
    verdict: Mapped[str] = mapped_column(sa.String(12))
    # engine.rank_key: verdict (0 ready, 1 incomplete, 2 not ready), failing criteria, their relative gaps, unknowns
    verdict_rank: Mapped[int] = mapped_column(sa.SmallInteger)
    failing: Mapped[int]
    gap_total: Mapped[float] = mapped_column(sa.Float)
    unknown: Mapped[int]
    # the enterprise's name, region and whether it holds the tier (a valid certificate) when ranked: the pool is
    # then read from this table alone; every write that changes them re-ranks the enterprise (a rename, a move,
    # a certification recorded, revoked or expired), and the nightly rebuild catches time passing
    name: Mapped[str] = mapped_column(sa.String(200))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    holds: Mapped[bool]
    ruleset_version: Mapped[int]
    # {"zh": [...], "en": [...]}: the gap texts of the first three failing criteria in each language (the page shows
    # them without evaluating); NULL on rows stored before they were kept or by a bulk import (filled by the
    # 5-minute job), which the page evaluates; None is stored as SQL NULL (not JSON null: the partial index's IS NULL)
    gaps: Mapped[dict[str, list[str]] | None] = mapped_column(sa.JSON(none_as_null=True))
    computed_on: Mapped[date]
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


register_unique("uq_ruleset_versions_tier_version", "", _l("Someone saved this rule set at the same moment; reload and try again."))
ENTITY_LABELS.update({
    "certifications": _l("Certification"), "readiness_inputs": _l("Readiness inputs"),
    "ruleset_versions": _l("Rule set"),
})


# --- readiness sheets: batches -------------------------------------------------------------


class SheetBatchStatus(StrEnum):
    """Where a batch of readiness sheets stands."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class SheetBatch(Base):
    """A ZIP of readiness sheets built in the background for a filtered list of enterprises.

    `enterprise_ids` is frozen when the batch is created (the creator's scope at that moment);
    `done` counts sheets attempted, `failed` those that could not be built (listed in `failures`);
    `updated_at` moves with every progress commit, so a batch whose process died is recognisable.
    """

    __tablename__ = "sheet_batches"
    __table_args__ = (
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),
        sa.CheckConstraint("lang IN ('zh', 'en')", name="lang_known"),
        sa.CheckConstraint("done >= 0 AND failed >= 0 AND done <= total AND failed <= done", name="counts_sane"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    tier: Mapped[str] = mapped_column(sa.String(20))
    lang: Mapped[str] = mapped_column(sa.String(2), default="zh")
    # The candidate pool's filter the batch was started from (for the page; the ids are what counts).
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"))
    enterprise_ids: Mapped[list[int]] = mapped_column(sa.JSON)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(16), default=SheetBatchStatus.QUEUED)
    # The batch's own error (it stopped); the sheets that failed are in `failures`.
    error: Mapped[str] = mapped_column(sa.Text, default="")
    failures: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    # Time spent building sheets (for "ms per sheet").
    elapsed_ms: Mapped[int] = mapped_column(default=0)
