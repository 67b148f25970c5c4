"""Reads of the import/export feature: the exports (every list scoped through the access policy), the history.

An export is the list the user sees on its page, with the same filters, every row of it (not one page):
the registry (enterprises, and their figures, IP and certifications in the import templates' columns, so
a file exported and imported again changes nothing), the candidate pool, the needs and the visits.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from crm.core.policy import SYSTEM, Role  # noqa: F401 - SYSTEM: the CLI exports as it
from crm.core.web import id_or_none
from crm.enterprises.models import (
    ENTERPRISE_STATUS_LABELS,
    AnnualFigures,
    Enterprise,
    EnterpriseStatus,
    IntellectualProperty,
)
from crm.enterprises.queries import RegistryFilter, registry_query, scope_enterprises, subtree_ids
from crm.extensions import db
from crm.io.documents import as_date, cell_value, export_headers, write_workbook
from crm.io.forms import COLUMNS
from crm.io.models import ImportJob, ImportKind
from crm.ladder.models import Certification
from crm.ladder.tiers import tier_label

YIELD = 1000


EXPORT_KINDS = ("enterprises", "figures", "ip", "certifications", "candidates", "needs", "visits")


# --- history ------------------------------------------------------------------------------------------------

def jobs_for(user) -> Select:
    """The import history `user` may see (an admin everyone's, others their own), newest first."""
    stmt = select(ImportJob).options(joinedload(ImportJob.created_by)).order_by(ImportJob.created_at.desc(),
                                                                              ImportJob.id.desc())
    if user.role != Role.ADMIN:
        stmt = stmt.where(ImportJob.created_by_id == user.id)
    return stmt


def job_for(user, job_id: int) -> ImportJob | None:
    """A job `user` may see (its creator or an admin), else None."""
    job = db.session.get(ImportJob, job_id)
    if job is None or (user.role != Role.ADMIN and job.created_by_id != user.id):
        return None
    return job


def template_regions(user) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(code, name) of the regions and of the parks a user may register enterprises in (for the templates)."""
    from crm.enterprises.models import Region

    stmt = select(Region).order_by(Region.code)
    if user.role != Role.ADMIN:
        stmt = stmt.where(Region.id.in_(subtree_ids(user.region_id)))
    regions = list(db.session.scalars(stmt))
    return ([(r.code, r.name) for r in regions if r.level != "park"],
            [(r.code, r.name) for r in regions if r.level == "park"])


# --- the registry and its children -----------------------------------------------------------------------------

def _enterprise_ids(user, f: RegistryFilter):
    return registry_query(user, f).with_only_columns(Enterprise.id).order_by(None).scalar_subquery()


def _stream(stmt) -> Iterator:
    return db.session.scalars(stmt.execution_options(yield_per=YIELD))


def _region_codes() -> dict[int, tuple[str, str, str | None]]:
    """{region id: (code, name, park code or None)}: a park's enterprises export their county's code and the park."""
    from crm.enterprises.models import Region

    regions = {r.id: r for r in db.session.scalars(select(Region))}
    out = {}
    for r in regions.values():
        if r.level == "park" and r.parent_id in regions:
            out[r.id] = (regions[r.parent_id].code, r.name, r.code)
        else:
            out[r.id] = (r.code, r.name, None)
    return out


def _registry_rows(user, f: RegistryFilter):
    columns = COLUMNS[ImportKind.ENTERPRISES]
    regions = _region_codes()
    stmt = registry_query(user, f)
    stmt = stmt.options(joinedload(Enterprise.region))

    def rows():
        for e in db.session.execute(stmt.execution_options(yield_per=YIELD)).scalars():
            code, region_name, park = regions.get(e.region_id, ("", "", None))
            values = {"name": e.name, "uscc": e.uscc, "region_code": code, "park": park,
                      "established_on": e.established_on, "industry_code": e.industry_code,
                      "tech_domain": e.tech_domain, "is_above_scale": e.is_above_scale, "address": e.address or None,
                      "region_name": region_name, "current_tier": str(tier_label(e.current_tier)),
                      "status": str(ENTERPRISE_STATUS_LABELS[EnterpriseStatus(e.status)])}
            yield [cell_value(c, values[c.field]) for c in columns]

    return _("Enterprises"), export_headers(columns), rows()


def _child_rows(kind: str, user, f: RegistryFilter):
    columns = COLUMNS[kind]
    model = {ImportKind.FIGURES: AnnualFigures, ImportKind.IP: IntellectualProperty,
             ImportKind.CERTIFICATIONS: Certification}[kind]
    order = {ImportKind.FIGURES: (AnnualFigures.year,), ImportKind.IP: (IntellectualProperty.kind,
                                                                          IntellectualProperty.number),
             ImportKind.CERTIFICATIONS: (Certification.issued_on, Certification.id)}[kind]
    stmt = (select(model, Enterprise.uscc, Enterprise.name).join(Enterprise, model.enterprise_id == Enterprise.id)
            .where(Enterprise.id.in_(_enterprise_ids(user, f)))
            .order_by(Enterprise.name, Enterprise.id, *order))

    def rows():
        for obj, uscc, name in db.session.execute(stmt.execution_options(yield_per=YIELD)):
            values = {"uscc": uscc, "name": name}
            yield [cell_value(c, values[c.field] if c.field in values else getattr(obj, c.field)) for c in columns]

    title = {ImportKind.FIGURES: _("Annual figures"), ImportKind.IP: _("Intellectual property"),
             ImportKind.CERTIFICATIONS: _("Certifications")}[kind]
    return title, export_headers(columns), rows()


# --- the candidate pool, needs and visits ------------------------------------------------------------------

def _candidate_rows(user, tier: str, region_id: int | None, officer: str, lang: str):
    from crm.ladder import queries as ladder_queries
    from crm.ladder.display import verdict_label

    pool = ladder_queries.candidate_pool(user, tier, region_id=region_id, officer=officer, lang=lang)
    headers = [_("Rank"), _("Enterprise name"), _("Unified social credit code"), _("Region"), _("Current tier"),
               _("Verdict"), _("Criteria not met"), _("Criteria unknown"), _("Gaps")]
    rows = ([c.rank, c.enterprise.name, c.enterprise.uscc, c.enterprise.region.name,
             str(tier_label(c.enterprise.current_tier)), verdict_label(c.verdict), c.failing, c.unknown,
             "；".join(c.gaps)] for c in pool)
    return str(tier_label(tier)), headers, rows


def _need_rows(user, f):
    from crm.service.models import NEED_CATEGORY_LABELS
    from crm.service.queries import needs_query

    stmt = needs_query(user, f)
    headers = [_("Enterprise name"), _("Unified social credit code"), _("Category"), _("Need"), _("Description"),
               _("Status"), _("Raised on"), _("Due on"), _("Owner"), _("Referred to"), _("Resolution"),
               _("Closed on"), _("Satisfaction")]

    def rows():
        for n in db.session.execute(stmt.execution_options(yield_per=YIELD)).scalars():
            yield [n.enterprise.name, n.enterprise.uscc, str(NEED_CATEGORY_LABELS.get(n.category, n.category)),
                   n.title, n.description or None, str(n.status_label), n.raised_on, n.due_on,
                   n.owner.name if n.owner else None, n.department.name if n.department else None,
                   n.resolution or None, n.closed_on, n.satisfaction]

    return _("Needs"), headers, rows()


@dataclass
class VisitFilter:
    """The visits export's filters: text (enterprise name or USCC), region, officer, a period, one enterprise."""

    q: str = ""
    region_id: int | None = None
    officer_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    enterprise_id: int | None = None


def visits_query(user, f: VisitFilter) -> Select:
    """Visits to enterprises in `user`'s scope matching the filter, newest first."""
    from crm.service.models import Visit

    stmt = scope_enterprises(select(Visit).join(Visit.enterprise).options(
        joinedload(Visit.enterprise), joinedload(Visit.officer), selectinload(Visit.policies)), user)
    if f.q:
        stmt = stmt.where(Enterprise.name.contains(f.q, autoescape=True)
                          | Enterprise.uscc.startswith(f.q.upper(), autoescape=True))
    if f.region_id:
        stmt = stmt.where(Enterprise.region_id.in_(subtree_ids(f.region_id)))
    if f.officer_id:
        stmt = stmt.where(Visit.officer_id == f.officer_id)
    if f.date_from:
        stmt = stmt.where(Visit.visited_on >= f.date_from)
    if f.date_to:
        stmt = stmt.where(Visit.visited_on <= f.date_to)
    if f.enterprise_id:
        stmt = stmt.where(Visit.enterprise_id == f.enterprise_id)
    return stmt.order_by(Visit.visited_on.desc(), Visit.id.desc())


def _visit_rows(user, f: VisitFilter):
    stmt = visits_query(user, f)
    headers = [_("Date"), _("Enterprise name"), _("Unified social credit code"), _("Officer"), _("Mode"),
               _("People met"), _("Summary"), _("Policies explained")]

    def rows():
        for v in db.session.execute(stmt.execution_options(yield_per=YIELD)).scalars():
            yield [v.visited_on, v.enterprise.name, v.enterprise.uscc, v.officer.name, str(v.mode_label),
                   v.people_met or None, v.summary or None, "；".join(p.title for p in v.policies) or None]

    return _("Visits"), headers, rows()


# --- one entry point ------------------------------------------------------------------------------------------

def export_table(kind: str, user, filters) -> tuple[str, list[str], Iterator[list]]:
    """(sheet title, header row in the user's language, rows) of an export; `filters` as the kind's page reads them:
    a RegistryFilter (enterprises, figures, ip, certifications), (tier, region_id, officer, lang) for candidates,
    a NeedFilter, a VisitFilter."""
    if kind == "enterprises":
        return _registry_rows(user, filters)
    if kind in (ImportKind.FIGURES, ImportKind.IP, ImportKind.CERTIFICATIONS):
        return _child_rows(kind, user, filters)
    if kind == "candidates":
        return _candidate_rows(user, *filters)
    if kind == "needs":
        return _need_rows(user, filters)
    if kind == "visits":
        return _visit_rows(user, filters)
    raise ValueError(f"unknown export {kind!r}")


def filters_from_args(kind: str, user, args: dict):
    """The filters of an export from plain arguments (the command line; the API): q, region (id), tier, status."""
    from crm.service.queries import NeedFilter

    region_id = id_or_none(args.get("region"))
    if kind == "candidates":
        from crm.ladder.tiers import Tier

        tier = args.get("tier") if args.get("tier") in {t.value for t in Tier} else Tier.HIGH_TECH.value
        return tier, region_id, "", "zh"
    if kind == "needs":
        return NeedFilter(q=args.get("q", ""), status=args.get("status", ""), region_id=region_id)
    if kind == "visits":
        return VisitFilter(q=args.get("q", ""), region_id=region_id)
    return RegistryFilter(q=args.get("q", ""), region_id=region_id, tier=args.get("tier") or "",
                          status=args.get("status") if args.get("status") in ENTERPRISE_STATUS_LABELS else "")


def write_export(kind: str, user, args: dict, out) -> int:
    """Write an export to `out` (a path or a file) from plain arguments; returns the number of rows."""
    title, headers, rows = export_table(kind, user, filters_from_args(kind, user, args))
    return write_workbook(out, title, headers, (list(map(as_date, row)) for row in rows))
