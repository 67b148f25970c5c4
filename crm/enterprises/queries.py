"""Reads on the registry, always through the access policy's record rules.

Record rules (DESIGN §1): an admin sees everything; a manager or officer sees their region's
subtree; an enterprise user sees exactly their own enterprise. An officer edits only the enterprises
they serve now (their current assignment, crm.service) within that subtree; an admin edits every one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app, g, has_request_context
from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import joinedload

from crm.core.policy import Role, can
from crm.enterprises.industries import parse_industry_code
from crm.enterprises.models import (
    AMOUNT_FIELDS,
    COUNT_FIELDS,
    EFFICIENCY_FIELDS,
    Enterprise,
    FigureReport,
    FigureSource,
    Region,
)
from crm.extensions import db

# --- regions ------------------------------------------------------------------------------


def subtree_ids(region_id: int | None) -> list[int]:
    """Ids of a region and every region below it (cached for the request)."""
    if region_id is None:
        return []
    cache = g.setdefault("_subtree_ids", {}) if has_request_context() else {}
    if region_id not in cache:
        path = db.session.scalar(select(Region.path).where(Region.id == region_id))
        if path is None:
            cache[region_id] = []
        else:
            cache[region_id] = list(db.session.scalars(select(Region.id).where(Region.path.startswith(path))))
    return cache[region_id]


def ancestor_ids(region_id: int | None) -> list[int]:
    """Ids of a region and every region above it (its materialised path)."""
    if region_id is None:
        return []
    path = db.session.scalar(select(Region.path).where(Region.id == region_id)) or ""
    return [int(i) for i in path.strip("/").split("/") if i]


def nearby_region_filter(column, user):
    """A filter on a record's region column: what `user` sees of region-kept lists (tags, partners, events) —
    an admin all; others their subtree and the regions above it (a city's bank serves its counties); NULL
    (everyone's) always."""
    if user.role == Role.ADMIN:
        return column.is_not(None) | column.is_(None)
    ids = set(subtree_ids(user.region_id)) | set(ancestor_ids(user.region_id))
    return column.is_(None) | column.in_(ids)


def all_regions() -> list[Region]:
    """Every region in tree order (by materialised path of codes would differ; order by path)."""
    regions = list(db.session.scalars(select(Region)))
    by_id = {r.id: r for r in regions}

    def key(r: Region):
        return [by_id[int(i)].code for i in r.path.strip("/").split("/") if i]

    return sorted(regions, key=key)


def region_choices(within: int | None = None) -> list[tuple[int, str]]:
    """(id, indented name) of every region, or of one subtree, in tree order."""
    allowed = set(subtree_ids(within)) if within else None
    out = []
    for r in all_regions():
        if allowed is None or r.id in allowed:
            out.append((r.id, "\u3000" * r.depth + f"{r.name}（{r.code}）"))
    return out


def region_breadcrumb(region: Region) -> list[Region]:
    """The region's ancestors and itself, top first."""
    ids = [int(i) for i in region.path.strip("/").split("/") if i]
    found = {r.id: r for r in db.session.scalars(select(Region).where(Region.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


# --- record rules -------------------------------------------------------------------------


def scope_enterprises(stmt: Select, user) -> Select:
    """Restrict an enterprise query to what `user` may read."""
    if user is None or not user.is_authenticated or not user.is_active:
        return stmt.where(false())
    if user.role == Role.ADMIN:
        return stmt
    if user.role == Role.ENTERPRISE:
        return stmt.where(Enterprise.id == user.enterprise_id) if user.enterprise_id else stmt.where(false())
    if user.role in (Role.MANAGER, Role.OFFICER) and user.region_id:
        return stmt.where(Enterprise.region_id.in_(subtree_ids(user.region_id)))
    return stmt.where(false())


def can_view_enterprise(user, enterprise: Enterprise) -> bool:
    """Whether `user` may read this enterprise's page."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.ENTERPRISE:
        return user.enterprise_id == enterprise.id
    if user.role in (Role.MANAGER, Role.OFFICER):
        return enterprise.region_id in subtree_ids(user.region_id)
    return False


def can_edit_enterprise(user, enterprise: Enterprise) -> bool:
    """Whether `user` may change this enterprise: an admin any, an officer the ones they serve now in their region."""
    # crm.service imports this module, so its model is imported here, when the rule runs.
    from crm.service.models import Assignment

    if not can(user, "enterprise.edit"):
        return False
    if user.role == Role.ADMIN:
        return True
    if user.role != Role.OFFICER or enterprise.region_id not in subtree_ids(user.region_id):
        return False
    return db.session.scalar(select(Assignment.id).where(
        Assignment.enterprise_id == enterprise.id, Assignment.officer_id == user.id,
        Assignment.ends_on.is_(None)).limit(1)) is not None


def can_create_in_region(user, region_id: int | None) -> bool:
    """Whether `user` may register an enterprise in this region."""
    if not can(user, "enterprise.create") or region_id is None:
        return False
    return user.role == Role.ADMIN or region_id in subtree_ids(user.region_id)


# --- the registry list --------------------------------------------------------------------

SORTS = {
    "name": (Enterprise.name, Enterprise.id),
    "uscc": (Enterprise.uscc,),
    "established": (Enterprise.established_on, Enterprise.id),
    "updated": (Enterprise.updated_at, Enterprise.id),
    "tier": (Enterprise.current_tier, Enterprise.id),
}


@dataclass
class RegistryFilter:
    """The registry's search, filters and sort, as read from the query string."""

    q: str = ""
    region_id: int | None = None
    tier: str = ""
    industry: str = ""
    tech_domain: str = ""
    above_scale: str = ""  # "", "yes", "no"
    status: str = ""
    archived: str = ""  # "" = hide archived, "include", "only"
    officer: str = ""  # "" = any, an officer's id = their current enterprises, "none" = unassigned
    tag: int | None = None  # a tag's id (crm.tags): the enterprises carrying it
    grade: str = ""  # "" = any, A/B/C/D of the newest graded year (crm.policies)
    sort: str = "name"
    desc: bool = False
    errors: list = field(default_factory=list)


def registry_query(user, f: RegistryFilter) -> Select:
    """Enterprises `user` may read, filtered and sorted, with their region loaded."""
    stmt = scope_enterprises(select(Enterprise).options(joinedload(Enterprise.region)), user)
    if f.q:
        text = f.q.strip()
        upper = text.upper()
        # A USCC (or its start) matches by prefix on the unique index; anything else by name.
        if len(upper) >= 4 and upper.isalnum() and any(c.isdigit() for c in upper):
            stmt = stmt.where(or_(Enterprise.uscc.startswith(upper, autoescape=True),
                                  Enterprise.name.contains(text, autoescape=True)))
        else:
            stmt = stmt.where(Enterprise.name.contains(text, autoescape=True))
    if f.region_id:
        stmt = stmt.where(Enterprise.region_id.in_(subtree_ids(f.region_id)))
    if f.tier == "candidate":
        stmt = stmt.where(Enterprise.current_tier.is_(None))
    elif f.tier:
        stmt = stmt.where(Enterprise.current_tier == f.tier)
    if f.industry:
        parsed = parse_industry_code(f.industry)
        if parsed:
            stmt = stmt.where(Enterprise.industry_code.startswith(f.industry.strip().upper()))
    if f.tech_domain:
        stmt = stmt.where(Enterprise.tech_domain == f.tech_domain)
    if f.above_scale in ("yes", "no"):
        stmt = stmt.where(Enterprise.is_above_scale.is_(f.above_scale == "yes"))
    if f.status:
        stmt = stmt.where(Enterprise.status == f.status)
    if f.archived == "only":
        stmt = stmt.where(Enterprise.archived_at.is_not(None))
    elif f.archived != "include":
        stmt = stmt.where(Enterprise.archived_at.is_(None))
    if f.officer:
        from crm.service.queries import filter_by_officer

        stmt = filter_by_officer(stmt, f.officer)
    if f.tag:
        from crm.tags.models import EnterpriseTag

        stmt = stmt.where(Enterprise.id.in_(select(EnterpriseTag.enterprise_id).where(EnterpriseTag.tag_id == f.tag)))
    if f.grade:
        from crm.policies.queries import graded_ids

        stmt = stmt.where(Enterprise.id.in_(graded_ids(f.grade)))
    columns = SORTS.get(f.sort, SORTS["name"])
    return stmt.order_by(*[c.desc() if f.desc else c.asc() for c in columns])


def get_enterprise_for(user, enterprise_id: int) -> Enterprise | None:
    """The enterprise if it exists and `user` may read it, else None (the view answers 404)."""
    enterprise = db.session.get(Enterprise, enterprise_id, options=[joinedload(Enterprise.region)])
    if enterprise is None or not can_view_enterprise(user, enterprise):
        return None
    return enterprise


# --- figure provenance --------------------------------------------------------------------
# A year's figures are reported by several sources (FigureReport); the effective AnnualFigures row takes each
# field from the highest-ranked report that gives it (FIGURE_SOURCE_PRIORITY). Pure functions over loaded rows.

FIGURE_VALUE_FIELDS = (*AMOUNT_FIELDS, *COUNT_FIELDS, *EFFICIENCY_FIELDS)
# a part never exceeds its whole (the CHECKs of annual_figures): (part, whole)
_PARTS = (("hightech_revenue", "revenue"), ("rd_expense_domestic", "rd_expense"),
          ("tech_staff", "employees"), ("rd_staff", "employees"))
_SOURCE_ORDER = tuple(s.value for s in FigureSource)


def source_ranks(priority=None) -> dict[str, int]:
    """{source: rank} from FIGURE_SOURCE_PRIORITY (0 first); a source it leaves out ranks last."""
    if priority is None:
        priority = current_app.config.get("FIGURE_SOURCE_PRIORITY") or ()
    ranks: dict[str, int] = {}
    for rank, entry in enumerate(priority):
        for source in (entry,) if isinstance(entry, str) else entry:
            ranks.setdefault(source, rank)
    last = len(priority)
    return {s: ranks.get(s, last) for s in _SOURCE_ORDER}


def ranked_reports(reports, ranks: dict[str, int]) -> list:
    """The reports best first: by rank, then the latest report among one rank (then the fixed source order)."""
    return sorted(reports, key=lambda r: (ranks.get(r.source, len(ranks)), -r.reported_at.timestamp(),
                                          _SOURCE_ORDER.index(r.source)))


@dataclass
class Resolution:
    """What a year's reports resolve to: the values, the source of each, the reports that gave any value."""

    values: dict
    sources: dict[str, str]
    winners: list

    @property
    def main_source(self) -> str | None:
        """The source that gave most values (ties: the better-ranked); None when nothing was reported."""
        counts: dict[str, int] = {}
        for source in self.sources.values():
            counts[source] = counts.get(source, 0) + 1
        if not counts:
            return self.winners[0].source if self.winners else None
        order = [w.source for w in self.winners]
        return max(counts, key=lambda s: (counts[s], -order.index(s)))


def resolve_reports(reports, ranks: dict[str, int]) -> Resolution:
    """Each field from the best-ranked report that gives it. A part (high-tech revenue, domestic R&D, tech and
    R&D staff) is taken from the best report whose value fits within the resolved whole, never above it."""
    ordered = ranked_reports(reports, ranks)
    values: dict = {}
    sources: dict[str, str] = {}
    for name in FIGURE_VALUE_FIELDS:
        values[name] = None
        for report in ordered:
            value = getattr(report, name)
            if value is not None:
                values[name], sources[name] = value, report.source
                break
    for part, whole in _PARTS:
        if values[part] is None or values[whole] is None or values[part] <= values[whole]:
            continue
        values[part] = None
        sources.pop(part, None)
        for report in ordered:
            value = getattr(report, part)
            if value is not None and value <= values[whole]:
                values[part], sources[part] = value, report.source
                break
    used = set(sources.values())
    winners = [r for r in ordered if r.source in used] or ordered[:1]
    return Resolution(values, sources, winners)


def _differ(name: str, a, b, tolerance: Decimal) -> bool:
    if name in AMOUNT_FIELDS or name in EFFICIENCY_FIELDS:
        larger = max(abs(Decimal(a)), abs(Decimal(b)))
        return abs(Decimal(a) - Decimal(b)) > larger * tolerance
    return a != b


def disagreements(reports, tolerance=None) -> dict[str, list]:
    """{field: [report, …]} for each field two reports give differently (amounts by more than the tolerance,
    a share of the larger; counts at all); the reports of a field in no particular order."""
    if tolerance is None:
        tolerance = current_app.config.get("FIGURE_DISAGREEMENT_TOLERANCE", "0.01")
    tolerance = Decimal(str(tolerance))
    found: dict[str, list] = {}
    for name in FIGURE_VALUE_FIELDS:
        given = [r for r in reports if getattr(r, name) is not None]
        if any(_differ(name, getattr(a, name), getattr(b, name), tolerance)
               for i, a in enumerate(given) for b in given[i + 1:]):
            found[name] = given
    return found


@dataclass
class YearProvenance:
    """The enterprise page's provenance of one year: the reports best first and the figures they disagree on."""

    year: int
    reports: list
    sources: dict[str, str]
    disputed: dict[str, list] = field(default_factory=dict)  # field → [(report, value)], best first
    # why the engine reads the winner's value of a disputed field: "rank" (its source ranks higher), "recent"
    # (one rank: the latest report), "fits" (a better-ranked part exceeded its resolved whole)
    reasons: dict[str, str] = field(default_factory=dict)

    def report_of(self, source: str):
        """The year's report of `source`, or None."""
        return next((r for r in self.reports if r.source == source), None)

    def winner_of(self, name: str):
        """The report whose value of `name` the engine reads, or None."""
        return self.report_of(self.sources[name]) if name in self.sources else None


def figures_provenance(enterprise: Enterprise) -> dict[int, YearProvenance]:
    """{year: YearProvenance} of the enterprise, from all its reports in one query (with who reported and
    confirmed them)."""
    reports = list(db.session.scalars(
        select(FigureReport).where(FigureReport.enterprise_id == enterprise.id)
        .options(joinedload(FigureReport.reported_by), joinedload(FigureReport.confirmed_by))))
    ranks = source_ranks()
    by_year: dict[int, list] = {}
    for report in reports:
        by_year.setdefault(report.year, []).append(report)
    result = {}
    for year, year_reports in by_year.items():
        ordered = ranked_reports(year_reports, ranks)
        resolution = resolve_reports(ordered, ranks)
        disputed = {name: [(r, getattr(r, name)) for r in ordered if r in given]
                    for name, given in disagreements(ordered).items()}
        reasons = {}
        for name, given in disputed.items():
            winner = resolution.sources.get(name)
            if winner is None:
                continue
            if given[0][0].source != winner:
                reasons[name] = "fits"
            elif any(ranks[r.source] == ranks[winner] for r, _v in given[1:]):
                reasons[name] = "recent"
            else:
                reasons[name] = "rank"
        result[year] = YearProvenance(year, ordered, resolution.sources, disputed, reasons)
    return result


def outranked(figures, source: str) -> list[str]:
    """The fields whose value `source` reported differs from the one the year's figures hold (another source
    counts), in the glossary's order; [] when the source has no report of the year."""
    report = db.session.scalar(select(FigureReport).where(
        FigureReport.enterprise_id == figures.enterprise_id, FigureReport.year == figures.year,
        FigureReport.source == source))
    if report is None:
        return []
    return [name for name in FIGURE_VALUE_FIELDS
            if getattr(report, name) is not None and getattr(report, name) != getattr(figures, name)]
