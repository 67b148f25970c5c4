"""The registry's models: regions, enterprises, contacts, annual figures, intellectual property."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.audit import ENTITY_LABELS
from crm.core.db import Base, Money, TimestampMixin, UTCDateTime
from crm.core.uow import register_unique


class RegionLevel(StrEnum):
    """Levels of the region tree, top down."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    PARK = "park"


REGION_LEVEL_LABELS = {
    RegionLevel.PROVINCE: _l("Province"),
    RegionLevel.CITY: _l("City"),
    RegionLevel.COUNTY: _l("County / district"),
    RegionLevel.PARK: _l("Park"),
}

# Which level may sit under which (a park may sit under a city or a county).
ALLOWED_PARENT_LEVELS = {
    RegionLevel.PROVINCE: (None,),
    RegionLevel.CITY: (RegionLevel.PROVINCE,),
    RegionLevel.COUNTY: (RegionLevel.CITY, RegionLevel.PROVINCE),
    RegionLevel.PARK: (RegionLevel.COUNTY, RegionLevel.CITY),
}


class Region(Base):
    """A node of the region tree (GB/T 2260 code, or a park code)."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    level: Mapped[str] = mapped_column(sa.String(16))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    # Materialised path of ids, "/1/5/23/": a subtree is one LIKE on an index.
    path: Mapped[str] = mapped_column(sa.String(255), index=True, default="/")

    parent: Mapped[Region | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Region]] = relationship(back_populates="parent", order_by="Region.code")

    @property
    def depth(self) -> int:
        """0 for a root, 1 for its children, …"""
        return self.path.strip("/").count("/")

    @property
    def level_label(self):
        """The level's name in the user's language."""
        return REGION_LEVEL_LABELS[RegionLevel(self.level)]

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"


class TechDomain(StrEnum):
    """国家重点支持的高新技术领域 (codes from domain/readiness-profile.md)."""

    ELECTRONIC_INFORMATION = "electronic_information"
    BIOMEDICINE = "biomedicine"
    AEROSPACE = "aerospace"
    NEW_MATERIALS = "new_materials"
    HIGHTECH_SERVICES = "hightech_services"
    NEW_ENERGY = "new_energy"
    RESOURCES_ENVIRONMENT = "resources_environment"
    ADVANCED_MANUFACTURING = "advanced_manufacturing"


TECH_DOMAIN_LABELS = {
    TechDomain.ELECTRONIC_INFORMATION: _l("Electronic information"),
    TechDomain.BIOMEDICINE: _l("Biology and new medicine"),
    TechDomain.AEROSPACE: _l("Aerospace"),
    TechDomain.NEW_MATERIALS: _l("New materials"),
    TechDomain.HIGHTECH_SERVICES: _l("High-tech services"),
    TechDomain.NEW_ENERGY: _l("New energy and energy saving"),
    TechDomain.RESOURCES_ENVIRONMENT: _l("Resources and environment"),
    TechDomain.ADVANCED_MANUFACTURING: _l("Advanced manufacturing and automation"),
}


class EnterpriseStatus(StrEnum):
    """Business status of an enterprise (archiving is separate: a record flag)."""

    ACTIVE = "active"
    MOVED_OUT = "moved_out"
    CLOSED = "closed"


ENTERPRISE_STATUS_LABELS = {
    EnterpriseStatus.ACTIVE: _l("Operating"),
    EnterpriseStatus.MOVED_OUT: _l("Moved out"),
    EnterpriseStatus.CLOSED: _l("Closed"),
}


# An operating enterprise (not archived, active), as SQL: the partial index's condition and the queries that use it.
OPERATING_SQL = "archived_at IS NULL AND status = 'active'"


class Enterprise(TimestampMixin, Base):
    """An enterprise of the registry. Never deleted: archived."""

    __tablename__ = "enterprises"
    # The registry sorts by these; a sorted page of 50 then reads 50 index entries, not 100k rows.
    __table_args__ = (
        sa.Index("ix_enterprises_established_on", "established_on"),
        sa.Index("ix_enterprises_updated_at", "updated_at"),
        # the operating enterprises of a region counted from the index alone (the candidate pool's check that
        # every one is ranked, crm.ladder.queries._scoped_operating): the planners use it only for a query that
        # states the status as the same literal, not as a bound parameter
        sa.Index("ix_enterprises_operating_region", "region_id",
                 postgresql_where=sa.text(OPERATING_SQL), sqlite_where=sa.text(OPERATING_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    uscc: Mapped[str] = mapped_column(sa.String(18), unique=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    address: Mapped[str] = mapped_column(sa.String(255), default="")
    industry_code: Mapped[str] = mapped_column(sa.String(5), index=True)
    tech_domain: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    established_on: Mapped[date | None]
    is_above_scale: Mapped[bool] = mapped_column(default=False, index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=EnterpriseStatus.ACTIVE, index=True)
    # Highest tier among active certifications; kept by the ladder, NULL = candidate.
    current_tier: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The optimistic lock (crm.core.concurrency): a save based on an older version is refused.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    region: Mapped[Region] = relationship()
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="enterprise", order_by="(Contact.is_primary.desc(), Contact.id)"
    )
    figures: Mapped[list[AnnualFigures]] = relationship(
        back_populates="enterprise", order_by="AnnualFigures.year.desc()"
    )
    ip_items: Mapped[list[IntellectualProperty]] = relationship(
        back_populates="enterprise", order_by="(IntellectualProperty.kind, IntellectualProperty.number)"
    )

    @property
    def is_archived(self) -> bool:
        """Whether the record is archived (hidden from lists by default)."""
        return self.archived_at is not None

    @property
    def status_label(self):
        """The status in the user's language."""
        return ENTERPRISE_STATUS_LABELS[EnterpriseStatus(self.status)]

    @property
    def tech_domain_label(self):
        """The technology domain in the user's language, or '' when unset."""
        return TECH_DOMAIN_LABELS[TechDomain(self.tech_domain)] if self.tech_domain else ""

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Enterprise {self.uscc} {self.name}>"


class Contact(Base):
    """A contact person of an enterprise."""

    __tablename__ = "enterprise_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    title: Mapped[str] = mapped_column(sa.String(60), default="")
    phone: Mapped[str] = mapped_column(sa.String(32), default="")
    email: Mapped[str] = mapped_column(sa.String(120), default="")
    is_primary: Mapped[bool] = mapped_column(default=False)

    enterprise: Mapped[Enterprise] = relationship(back_populates="contacts")


class FigureSource(StrEnum):
    """Where a year's figures came from (each source files its own FigureReport)."""

    OFFICER = "officer"  # 服务专员 typed them in
    ENTERPRISE = "enterprise"  # 企业填报: the enterprise's portal submission, accepted by its officer
    IMPORT = "import"  # 导入: a spreadsheet the bureau imported
    TAX = "tax"  # 税务数据: a tax bureau file imported as such
    STATISTICS = "statistics"  # 统计数据: a statistics bureau file imported as such


FIGURE_SOURCE_LABELS = {
    FigureSource.OFFICER: _l("Officer"),
    FigureSource.ENTERPRISE: _l("Enterprise"),
    FigureSource.IMPORT: _l("Import"),
    FigureSource.TAX: _l("Tax data"),
    FigureSource.STATISTICS: _l("Statistics data"),
}
# The sources a figures import may be declared as (the upload's "source" choice).
IMPORT_SOURCES = (FigureSource.IMPORT, FigureSource.TAX, FigureSource.STATISTICS)

# The amount columns (万元) in the order the glossary lists them.
AMOUNT_FIELDS = (
    "revenue", "hightech_revenue", "rd_expense", "rd_expense_domestic", "total_cost",
    "total_income", "total_assets", "net_assets",
)
HEADCOUNT_FIELDS = ("employees", "tech_staff", "rd_staff")
COUNT_FIELDS = (*HEADCOUNT_FIELDS, "conversions")
# Optional yearly fields of the efficiency grading (crm.policies): tax paid 万元, land 亩, energy 吨标煤.
EFFICIENCY_FIELDS = ("tax_paid", "land_mu", "energy_tce")


def _ratio(numerator, denominator) -> Decimal | None:
    """numerator ÷ denominator, exact; None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


class FigureValues:
    """The value columns of a year's figures, shared by the effective row and each source's report."""

    revenue: Mapped[Decimal | None] = mapped_column(Money)
    hightech_revenue: Mapped[Decimal | None] = mapped_column(Money)
    rd_expense: Mapped[Decimal | None] = mapped_column(Money)
    rd_expense_domestic: Mapped[Decimal | None] = mapped_column(Money)
    total_cost: Mapped[Decimal | None] = mapped_column(Money)
    # 总收入 (收入总额 − 不征税收入): optional; the high-tech share falls back to revenue.
    total_income: Mapped[Decimal | None] = mapped_column(Money)
    total_assets: Mapped[Decimal | None] = mapped_column(Money)
    # Net assets may be negative (liabilities above assets): no sign check.
    net_assets: Mapped[Decimal | None] = mapped_column(Money)
    employees: Mapped[int | None]
    tech_staff: Mapped[int | None]
    rd_staff: Mapped[int | None]
    # 科技成果转化 completed in the year (the 高企 score reads the last three years' total).
    conversions: Mapped[int | None]
    # optional, for the A/B/C/D grading (亩均效益): 实缴税金 (万元), 用地面积 (亩), 综合能耗 (吨标准煤)
    tax_paid: Mapped[Decimal | None] = mapped_column(Money)
    land_mu: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    energy_tce: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))


class AnnualFigures(FigureValues, TimestampMixin, Base):
    """One enterprise's figures for one accounting year as they count (amounts in 万元): the row every reader
    (readiness, policies, grading, pipeline, exports) reads. Resolved from the year's FigureReports by
    crm.enterprises.services.resolve_figures — the only writer of its values."""

    __tablename__ = "annual_figures"
    __table_args__ = (
        sa.UniqueConstraint("enterprise_id", "year", name="uq_annual_figures_enterprise_year"),
        sa.CheckConstraint("year BETWEEN 1980 AND 2100", name="year_range"),
        sa.CheckConstraint("revenue >= 0 AND hightech_revenue >= 0 AND rd_expense >= 0 "
                           "AND rd_expense_domestic >= 0 AND total_cost >= 0 AND total_assets >= 0",
                           name="amounts_not_negative"),
        sa.CheckConstraint("hightech_revenue <= revenue", name="hightech_within_revenue"),
        sa.CheckConstraint("rd_expense_domestic <= rd_expense", name="domestic_within_rd"),
        sa.CheckConstraint("tech_staff <= employees AND rd_staff <= employees", name="staff_within_employees"),
        sa.CheckConstraint("conversions >= 0", name="conversions_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    year: Mapped[int]
    # The source that gave most of the values; `field_sources` names the fields another source gave
    # ({"revenue": "tax"}), so the row says where each number came from without reading the reports.
    source: Mapped[str] = mapped_column(sa.String(16), default=FigureSource.OFFICER)
    field_sources: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict, server_default="{}")
    # Verified: every report that gave a value is confirmed (by / at: the latest confirmation).
    verified: Mapped[bool] = mapped_column(default=False)
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The optimistic lock (crm.core.concurrency): a save based on an older version is refused.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    enterprise: Mapped[Enterprise] = relationship(back_populates="figures")

    __mapper_args__ = {"version_id_col": version}

    @property
    def rd_ratio(self) -> Decimal | None:
        """R&D expense ÷ revenue."""
        return _ratio(self.rd_expense, self.revenue)

    @property
    def tech_staff_ratio(self) -> Decimal | None:
        """Tech staff ÷ employees."""
        return _ratio(self.tech_staff, self.employees)

    @property
    def hightech_share(self) -> Decimal | None:
        """High-tech revenue ÷ total income (revenue stands in when total income is missing)."""
        return _ratio(self.hightech_revenue, self.total_income if self.total_income is not None else self.revenue)

    @property
    def source_label(self):
        """Where the figures came from, in the user's language."""
        return FIGURE_SOURCE_LABELS[FigureSource(self.source)]

    def source_of(self, field: str) -> str:
        """The source whose value of `field` this row holds."""
        return (self.field_sources or {}).get(field, self.source)


class FigureReport(FigureValues, TimestampMixin, Base):
    """One source's statement of an enterprise's figures for a year (年度数据来源): what the enterprise, an
    officer, an imported file, tax or statistics data said, when, and who confirmed it. A value left empty is
    one the source did not give. The year's AnnualFigures row is resolved from these by priority."""

    __tablename__ = "figure_reports"
    __table_args__ = (
        # also the index of "this enterprise's reports" (its leading column)
        sa.UniqueConstraint("enterprise_id", "year", "source", name="uq_figure_reports_enterprise_year_source"),
        sa.CheckConstraint("source IN ('officer', 'enterprise', 'import', 'tax', 'statistics')",
                           name="source_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    year: Mapped[int]
    source: Mapped[str] = mapped_column(sa.String(16))
    # the imported file's name and its import job, when the values came from a file
    file_name: Mapped[str] = mapped_column(sa.String(255), default="", server_default="")
    import_job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_jobs.id", ondelete="SET NULL"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    reported_by = relationship("User", foreign_keys=[reported_by_id], lazy="raise")
    confirmed_by = relationship("User", foreign_keys=[confirmed_by_id], lazy="raise")

    @property
    def source_label(self):
        """The source in the user's language."""
        return FIGURE_SOURCE_LABELS[FigureSource(self.source)]

    @property
    def confirmed(self) -> bool:
        """Whether an officer confirmed these values."""
        return self.confirmed_at is not None


class IPKind(StrEnum):
    """Kinds of intellectual property (codes from domain/readiness-profile.md)."""

    INVENTION_PATENT = "invention_patent"
    PLANT_VARIETY = "plant_variety"
    NATIONAL_CROP_VARIETY = "national_crop_variety"
    NEW_DRUG = "new_drug"
    TCM_PROTECTED_VARIETY = "tcm_protected_variety"
    IC_LAYOUT = "ic_layout"
    UTILITY_MODEL = "utility_model"
    DESIGN_PATENT = "design_patent"
    SOFTWARE_COPYRIGHT = "software_copyright"
    OTHER_CLASS2 = "other_class2"


IP_KIND_LABELS = {
    IPKind.INVENTION_PATENT: _l("Invention patent"),
    IPKind.PLANT_VARIETY: _l("New plant variety"),
    IPKind.NATIONAL_CROP_VARIETY: _l("National-level crop variety"),
    IPKind.NEW_DRUG: _l("National class-1 new drug"),
    IPKind.TCM_PROTECTED_VARIETY: _l("National first-grade protected TCM variety"),
    IPKind.IC_LAYOUT: _l("IC layout design"),
    IPKind.UTILITY_MODEL: _l("Utility model patent"),
    IPKind.DESIGN_PATENT: _l("Design patent"),
    IPKind.SOFTWARE_COPYRIGHT: _l("Software copyright"),
    IPKind.OTHER_CLASS2: _l("Other class II IP"),
}

# Class I per the 高企 工作指引; everything else counts as class II.
CLASS_I_KINDS = frozenset({
    IPKind.INVENTION_PATENT, IPKind.PLANT_VARIETY, IPKind.NATIONAL_CROP_VARIETY,
    IPKind.NEW_DRUG, IPKind.TCM_PROTECTED_VARIETY, IPKind.IC_LAYOUT,
})


def ip_class_of(kind: str) -> int:
    """1 for class I kinds, 2 for class II."""
    return 1 if kind in CLASS_I_KINDS else 2


class IntellectualProperty(TimestampMixin, Base):
    """An IP item held by an enterprise."""

    __tablename__ = "intellectual_property"
    __table_args__ = (
        sa.UniqueConstraint("enterprise_id", "kind", "number", name="uq_intellectual_property_item"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.String(200))
    number: Mapped[str] = mapped_column(sa.String(64))
    granted_on: Mapped[date | None]
    is_valid: Mapped[bool] = mapped_column(default=True)
    # Class II items count for one 高企 application only.
    used_in_earlier_application: Mapped[bool] = mapped_column(default=False)

    enterprise: Mapped[Enterprise] = relationship(back_populates="ip_items")

    @property
    def ip_class(self) -> int:
        """1 or 2, derived from the kind."""
        return ip_class_of(self.kind)

    @property
    def kind_label(self):
        """The kind in the user's language."""
        return IP_KIND_LABELS[IPKind(self.kind)]


register_unique("uq_enterprises_uscc", "uscc",
                _l("Another enterprise already has this unified social credit code."))
register_unique("uq_annual_figures_enterprise_year", "year",
                _l("Figures for this year already exist; edit that year instead."))
register_unique("uq_intellectual_property_item", "number",
                _l("This enterprise already has an item of this kind with this number."))
register_unique("uq_regions_code", "code", _l("Another region already has this code."))
ENTITY_LABELS.update({
    "regions": _l("Region"), "enterprises": _l("Enterprise"), "enterprise_contacts": _l("Contact"),
    "annual_figures": _l("Annual figures"), "intellectual_property": _l("Intellectual property"),
    "figure_reports": _l("Reported figures"),
})
