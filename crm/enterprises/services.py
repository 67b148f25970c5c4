"""Writes on the registry: plain verb_noun functions that validate, flush and audit; callers commit."""
from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core import audit, clock
from crm.core.concurrency import check_version, flush_versioned
from crm.core.db import utcnow
from crm.core.uscc import normalize_uscc, uscc_error
from crm.core.validation import ValidationFailed
from crm.enterprises import queries
from crm.enterprises.industries import parse_industry_code
from crm.enterprises.models import (
    ALLOWED_PARENT_LEVELS,
    AMOUNT_FIELDS,
    COUNT_FIELDS,
    EFFICIENCY_FIELDS,
    AnnualFigures,
    Contact,
    Enterprise,
    EnterpriseStatus,
    FigureReport,
    FigureSource,
    IntellectualProperty,
    IPKind,
    Region,
    RegionLevel,
    TechDomain,
)
from crm.extensions import db

ENTERPRISE_FIELDS = ["name", "uscc", "region_id", "address", "industry_code", "tech_domain",
                     "established_on", "is_above_scale", "status"]
FIGURE_FIELDS = ["year", *AMOUNT_FIELDS, *COUNT_FIELDS, *EFFICIENCY_FIELDS, "source"]
FIGURE_VALUE_FIELDS = (*AMOUNT_FIELDS, *COUNT_FIELDS, *EFFICIENCY_FIELDS)
REPORT_FIELDS = ["year", "source", *FIGURE_VALUE_FIELDS, "file_name", "import_job_id"]
IP_FIELDS = ["kind", "title", "number", "granted_on", "is_valid", "used_in_earlier_application"]
CONTACT_FIELDS = ["name", "title", "phone", "email", "is_primary"]
REGION_FIELDS = ["code", "name", "level", "parent_id"]
YEAR_MIN = 1980


# --- enterprises --------------------------------------------------------------------------


def check_enterprise(data: dict, *, uscc_taken, region_known) -> dict[str, list]:
    """The rules of an enterprise's profile; {field: [message]} for each broken one. Normalises `data` in place
    (USCC, industry code, an empty domain as None).

    The two that need the database are asked of the caller: `uscc_taken(uscc)` (another enterprise has it) and
    `region_known(region_id)` — the services query, an import answers from what it has loaded for its rows.
    """
    errors: dict[str, list] = {}
    data["uscc"] = normalize_uscc(data.get("uscc"))
    problem = uscc_error(data["uscc"])
    if problem:
        errors["uscc"] = [problem]
    elif uscc_taken(data["uscc"]):
        errors["uscc"] = [_l("Another enterprise already has this unified social credit code.")]
    if not region_known(data.get("region_id") or 0):
        errors["region_id"] = [_l("Unknown region.")]
    code = (data.get("industry_code") or "").strip().upper()
    if not parse_industry_code(code):
        errors["industry_code"] = [_l("Not a GB/T 4754 industry code (e.g. C3511 or C35).")]
    data["industry_code"] = code
    if data.get("tech_domain") and data["tech_domain"] not in _TECH_DOMAINS:
        errors["tech_domain"] = [_l("Unknown technology domain.")]
    data["tech_domain"] = data.get("tech_domain") or None
    if data.get("status", EnterpriseStatus.ACTIVE) not in _STATUSES:
        errors["status"] = [_l("Unknown status.")]
    established = data.get("established_on")
    if established is not None and (established.year < 1900 or established > clock.today()):
        errors["established_on"] = [_l("The establishment date must be between 1900 and today.")]
    return errors


_TECH_DOMAINS = frozenset(d.value for d in TechDomain)
_STATUSES = frozenset(s.value for s in EnterpriseStatus)


def _check_enterprise(data: dict, enterprise: Enterprise | None) -> dict:
    def uscc_taken(uscc: str) -> bool:
        clash = select(Enterprise.id).where(Enterprise.uscc == uscc)
        if enterprise is not None:
            clash = clash.where(Enterprise.id != enterprise.id)
        return db.session.scalar(clash) is not None

    errors = check_enterprise(data, uscc_taken=uscc_taken,
                              region_known=lambda region_id: db.session.get(Region, region_id) is not None)
    if errors:
        raise ValidationFailed(errors)
    return data


def create_enterprise(data: dict, *, actor) -> Enterprise:
    """Register an enterprise (USCC valid and unique)."""
    data = _check_enterprise(dict(data), None)
    enterprise = Enterprise(**data)
    db.session.add(enterprise)
    db.session.flush()
    audit.record(db.session, "create", enterprise, actor=actor, enterprise_id=enterprise.id,
                 changes=audit.snapshot(enterprise, ENTERPRISE_FIELDS), summary=enterprise.name)
    _rematch([enterprise.id])
    return enterprise


def update_enterprise(enterprise: Enterprise, data: dict, *, actor, version=None) -> dict:
    """Change an enterprise's profile (refused when `version` is not the current one); returns the changes."""
    check_version(enterprise, version)
    data = _check_enterprise(dict(data), enterprise)
    changes = audit.apply_changes(enterprise, data)
    if changes:
        flush_versioned(enterprise)
        audit.record(db.session, "update", enterprise, actor=actor, enterprise_id=enterprise.id,
                     changes=changes, summary=enterprise.name)
        _rematch([enterprise.id])  # status, founding date, region, flags: what the conditions read
    return changes


def archive_enterprise(enterprise: Enterprise, *, actor) -> None:
    """Hide an enterprise from lists (never deleted)."""
    if enterprise.archived_at is not None:
        return
    enterprise.archived_at = utcnow()
    db.session.flush()
    audit.record(db.session, "archive", enterprise, actor=actor, enterprise_id=enterprise.id,
                 changes={"archived_at": [None, enterprise.archived_at.isoformat()]}, summary=enterprise.name)
    _rematch([enterprise.id])  # its stored matches and ranks go (they are kept for operating enterprises only)


def restore_enterprise(enterprise: Enterprise, *, actor) -> None:
    """Bring an archived enterprise back into the lists."""
    if enterprise.archived_at is None:
        return
    old = enterprise.archived_at.isoformat()
    enterprise.archived_at = None
    db.session.flush()
    audit.record(db.session, "restore", enterprise, actor=actor, enterprise_id=enterprise.id,
                 changes={"archived_at": [old, None]}, summary=enterprise.name)
    _rematch([enterprise.id])


# --- contacts -----------------------------------------------------------------------------


def _make_only_primary(contact: Contact, actor) -> None:
    """One primary contact per enterprise: demote the others, each with its audit event."""
    if not contact.is_primary:
        return
    others = db.session.scalars(select(Contact).where(
        Contact.enterprise_id == contact.enterprise_id, Contact.id != contact.id, Contact.is_primary.is_(True)))
    for other in others:
        changes = audit.apply_changes(other, {"is_primary": False})
        audit.record(db.session, "update", other, actor=actor, enterprise_id=other.enterprise_id,
                     changes=changes, summary=other.name)


def add_contact(enterprise: Enterprise, data: dict, *, actor) -> Contact:
    """Add a contact person (one may be primary)."""
    contact = Contact(enterprise_id=enterprise.id, **data)
    db.session.add(contact)
    db.session.flush()
    _make_only_primary(contact, actor)
    audit.record(db.session, "create", contact, actor=actor, enterprise_id=enterprise.id,
                 changes=audit.snapshot(contact, CONTACT_FIELDS), summary=contact.name)
    return contact


def update_contact(contact: Contact, data: dict, *, actor) -> dict:
    """Edit a contact person."""
    changes = audit.apply_changes(contact, data)
    if changes:
        db.session.flush()
        _make_only_primary(contact, actor)
        audit.record(db.session, "update", contact, actor=actor, enterprise_id=contact.enterprise_id,
                     changes=changes, summary=contact.name)
    return changes


def remove_contact(contact: Contact, *, actor) -> None:
    """Remove a contact person (the trail keeps what it held)."""
    audit.record(db.session, "delete", contact, actor=actor, enterprise_id=contact.enterprise_id,
                 changes={k: [v, None] for k, (_, v) in audit.snapshot(contact, CONTACT_FIELDS).items()},
                 summary=contact.name)
    db.session.delete(contact)
    db.session.flush()


# --- annual figures -----------------------------------------------------------------------


def check_figures(data: dict, *, this_year: int) -> dict[str, list]:
    """Cross-field rules of a year's figures; {field: [message]} for each broken one."""
    errors: dict[str, list] = {}

    def add(name, message):
        errors.setdefault(name, []).append(message)

    year = data.get("year")
    if year is None or not (YEAR_MIN <= year <= this_year):
        add("year", _l("The year must be between %(a)d and %(b)d.", a=YEAR_MIN, b=this_year))
    for name in AMOUNT_FIELDS:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, Decimal):
            add(name, _l("Enter a number, e.g. 1234.5."))
        elif value.as_tuple().exponent < -2:
            add(name, _l("At most two decimal places (amounts are in 10k CNY)."))
        elif value < 0 and name != "net_assets":
            add(name, _l("Must not be negative."))
    for name in COUNT_FIELDS:
        value = data.get(name)
        if value is not None and value < 0:
            add(name, _l("Must not be negative."))

    def both(a, b):
        return data.get(a) is not None and data.get(b) is not None

    if both("hightech_revenue", "revenue") and data["hightech_revenue"] > data["revenue"]:
        add("hightech_revenue", _l("High-tech revenue cannot exceed revenue."))
    if both("rd_expense_domestic", "rd_expense") and data["rd_expense_domestic"] > data["rd_expense"]:
        add("rd_expense_domestic", _l("Domestic R&D expense cannot exceed R&D expense."))
    if both("tech_staff", "employees") and data["tech_staff"] > data["employees"]:
        add("tech_staff", _l("Tech staff cannot exceed employees."))
    if both("rd_staff", "employees") and data["rd_staff"] > data["employees"]:
        add("rd_staff", _l("R&D staff cannot exceed employees."))
    return errors


def round_amounts(data: dict) -> dict:
    """Amounts to two places, always (in place; returns `data`): the trail then shows 3200.00 → 3500.00, never
    3200 → 3500.00."""
    for name in (*AMOUNT_FIELDS, *EFFICIENCY_FIELDS):
        if isinstance(data.get(name), Decimal):
            data[name] = data[name].quantize(Decimal("0.01"))
    return data


def _user_id(actor) -> int | None:
    return getattr(actor, "id", None) if not isinstance(actor, str) else None


def _effective(enterprise_id: int, year: int) -> AnnualFigures | None:
    return db.session.scalar(select(AnnualFigures).where(AnnualFigures.enterprise_id == enterprise_id,
                                                         AnnualFigures.year == year))


def year_reports(enterprise_id: int, year: int, figures: AnnualFigures | None = None) -> list[FigureReport]:
    """The reports of an enterprise's year (one query). A row written without reports (bulk-loaded, or from
    before provenance) is adopted first as the report of its own source, so no value it holds is lost."""
    reports = list(db.session.scalars(select(FigureReport).where(
        FigureReport.enterprise_id == enterprise_id, FigureReport.year == year)))
    if not reports:
        figures = figures if figures is not None else _effective(enterprise_id, year)
        if figures is not None:
            reports.append(_adopt(figures))
    return reports


def _adopt(figures: AnnualFigures) -> FigureReport:
    # What the migration does for the rows that existed then: the row's values become its source's report
    # (a re-statement of what is on record, not a change: not audited).
    confirmed_at = (figures.verified_at or figures.updated_at or utcnow()) if figures.verified else None
    report = FigureReport(enterprise_id=figures.enterprise_id, year=figures.year, source=figures.source,
                          reported_at=figures.updated_at or utcnow(),
                          confirmed_by_id=figures.verified_by_id if figures.verified else None,
                          confirmed_at=confirmed_at,
                          **{name: getattr(figures, name) for name in FIGURE_VALUE_FIELDS})
    db.session.add(report)
    db.session.flush()
    return report


def backfill_reports() -> int:
    """Give every year that has no report the report of its own source (what migration 0023 did for the years
    that existed then), in one INSERT … SELECT: for rows bulk-loaded without reports (the demo, the bench).
    Returns how many were added."""
    import sqlalchemy as sa

    f = AnnualFigures.__table__
    r = FigureReport.__table__
    confirmed = sa.case((f.c.verified.is_(True), sa.func.coalesce(f.c.verified_at, f.c.updated_at)), else_=None)
    confirmer = sa.case((f.c.verified.is_(True), f.c.verified_by_id), else_=None)
    missing = ~sa.exists().where(r.c.enterprise_id == f.c.enterprise_id, r.c.year == f.c.year)
    columns = ["enterprise_id", "year", "source", "file_name", "reported_at", "confirmed_by_id", "confirmed_at",
               "created_at", "updated_at", *FIGURE_VALUE_FIELDS]
    query = sa.select(f.c.enterprise_id, f.c.year, f.c.source, sa.literal(""), f.c.updated_at, confirmer, confirmed,
                      f.c.created_at, f.c.updated_at, *(f.c[name] for name in FIGURE_VALUE_FIELDS)).where(missing)
    # counted first: psycopg reported -1 rows for this INSERT … SELECT on PostgreSQL (the bench printed it)
    added = db.session.scalar(sa.select(sa.func.count()).where(missing).select_from(f)) or 0
    db.session.execute(r.insert().from_select(columns, query))
    return added


class StagedWrites:
    """The writes of many save_report calls held for one flush (an import's chunk): the rows are added to the
    session unflushed, their trail waits for their ids, and the enterprises to re-match are collected. `write()`
    flushes them in a few batched statements, records the trail in one INSERT and re-matches once."""

    def __init__(self):
        # (action, row, actor, changes, summary, enterprise id) of each event to record
        self.events: list[tuple[str, object, object, dict, str, int]] = []
        self.touched: set[int] = set()

    def audit(self, action: str, row, *, actor, enterprise_id: int, changes: dict, summary: str) -> None:
        """Hold the trail of `row` (recorded by write(), when it has an id)."""
        self.events.append((action, row, actor, changes, summary, enterprise_id))

    def write(self) -> None:
        """Flush the held rows (the optimistic versions checked: StaleVersion when a concurrent save won), then
        record their trail and re-match their enterprises."""
        from sqlalchemy.orm.exc import StaleDataError

        from crm.core.concurrency import StaleVersion

        events, touched = self.events, self.touched
        self.events, self.touched = [], set()
        try:
            db.session.flush()
        except StaleDataError:
            # the caller rolls the unit of work back (an import: nothing of the file is written)
            raise StaleVersion.one("", _l("Someone saved some of these figures at the same time; try again.")) from None
        now, ip = utcnow(), audit.client_ip()
        audit.record_many(db.session, [audit.event_values(
            action, row.__tablename__, row.id, actor=actor, changes=changes, enterprise_id=enterprise_id,
            summary=summary, ip=ip, at=now) for action, row, actor, changes, summary, enterprise_id in events])
        if touched:
            _rematch(touched)


def _audited(staged: StagedWrites | None, action: str, row, *, actor, enterprise_id: int, changes: dict,
             summary: str, versioned: bool = False) -> None:
    # at once (flushed, then recorded), or held for the staged batch's write()
    if staged is not None:
        staged.audit(action, row, actor=actor, enterprise_id=enterprise_id, changes=changes, summary=summary)
        return
    if versioned:
        flush_versioned(row)
    else:
        db.session.flush()
    audit.record(db.session, action, row, actor=actor, enterprise_id=enterprise_id, changes=changes, summary=summary)


def _rematch_one(staged: StagedWrites | None, enterprise_id: int) -> None:
    if staged is not None:
        staged.touched.add(enterprise_id)
    else:
        _rematch([enterprise_id])


def resolve_figures(enterprise: Enterprise, year: int, *, actor, reports: list[FigureReport] | None = None,
                    figures: AnnualFigures | None = None, action: str = "update",
                    staged: StagedWrites | None = None) -> AnnualFigures | None:
    """Rewrite the year's effective figures (the row every reader reads) from its reports: each field from the
    best-ranked report that gives it (FIGURE_SOURCE_PRIORITY), the source of each, verified when every report
    that gave a value is confirmed. The one writer of annual_figures' values: flushed (the row's optimistic
    version bumped, a concurrent save refused), audited, the policy matches refreshed. `reports` and
    `figures` (None: the year has no row yet) when the caller has them loaded (an import), else read here;
    `staged` holds the writes for one flush of many (an import's chunk)."""
    if reports is None:
        if figures is None:
            figures = _effective(enterprise.id, year)
        reports = year_reports(enterprise.id, year, figures)
    if not reports:
        return figures
    resolution = queries.resolve_reports(reports, queries.source_ranks())
    main = resolution.main_source
    verified = all(r.confirmed_at is not None for r in resolution.winners)
    latest = max((r for r in resolution.winners if r.confirmed_at is not None),
                 key=lambda r: r.confirmed_at, default=None) if verified else None
    data = {"year": year, **resolution.values, "source": main,
            "field_sources": {f: s for f, s in resolution.sources.items() if s != main},
            "verified": verified}
    stamps = {"verified_by_id": latest.confirmed_by_id if latest else None,
              "verified_at": latest.confirmed_at if latest else None}
    if figures is None:
        figures = AnnualFigures(enterprise_id=enterprise.id, **data, **stamps)
        db.session.add(figures)
        _audited(staged, "create", figures, actor=actor, enterprise_id=enterprise.id,
                 changes=audit.snapshot(figures, [*FIGURE_FIELDS, *(("field_sources",) if figures.field_sources
                                                                    else ())]),
                 summary=f"{enterprise.name} {year}")
        _rematch_one(staged, enterprise.id)
        return figures
    changes = audit.apply_changes(figures, data)
    restamped = audit.apply_changes(figures, stamps)  # who and when: in the trail through "verified"
    if changes:
        _audited(staged, action, figures, actor=actor, enterprise_id=enterprise.id, changes=changes,
                 summary=f"{enterprise.name} {figures.year}", versioned=True)
        if set(changes) & set(FIGURE_VALUE_FIELDS):
            _rematch_one(staged, enterprise.id)
    elif restamped and staged is None:
        flush_versioned(figures)
    return figures


def save_report(enterprise: Enterprise, year: int, source: str, values: dict, *, actor, file_name: str = "",
                import_job_id: int | None = None, confirm: bool = False,
                reports: list[FigureReport] | None = None, figures: AnnualFigures | None = None,
                staged: StagedWrites | None = None) -> AnnualFigures:
    """Record what `source` reports for the enterprise's year (create, or update the source's report: a value
    left out of `values` keeps the one it gave), then resolve the year's figures, which are returned. A changed
    report needs confirming again; `confirm` confirms it by the actor (a reviewer accepting a submission).
    `reports` (the year's, a list this appends to) and `figures` (None: the year has no row yet) when the caller
    has them loaded (an import: two queries a row fewer); `staged` holds the writes for one flush of many (an
    import's chunk: StagedWrites.write() flushes and records them)."""
    if source not in {s.value for s in FigureSource}:
        raise ValidationFailed.one("source", _l("Unknown source of figures."))
    if reports is None:
        if figures is None:
            figures = _effective(enterprise.id, year)
        reports = year_reports(enterprise.id, year, figures)
    elif not reports and figures is not None:
        reports.append(_adopt(figures))
    report = next((r for r in reports if r.source == source), None)
    given = {name: values[name] for name in FIGURE_VALUE_FIELDS if name in values}
    merged = {name: getattr(report, name) for name in FIGURE_VALUE_FIELDS} if report is not None else {}
    merged.update(given)
    errors = check_figures({**merged, "year": year}, this_year=clock.today().year)
    if errors:
        raise ValidationFailed(errors)
    given = round_amounts(given)
    now = utcnow()
    if report is None:
        report = FigureReport(enterprise_id=enterprise.id, year=year, source=source, file_name=file_name[-255:],
                              import_job_id=import_job_id, reported_at=now, reported_by_id=_user_id(actor),
                              **given)
        if confirm:
            report.confirmed_by_id, report.confirmed_at = _user_id(actor), now
        db.session.add(report)
        reports.append(report)
        _audited(staged, "create", report, actor=actor, enterprise_id=enterprise.id,
                 changes=audit.snapshot(report, [*REPORT_FIELDS, *(("confirmed_at",) if confirm else ())]),
                 summary=f"{enterprise.name} {year} {source}")
    else:
        changes = audit.apply_changes(report, given)
        if changes:
            changes.update(audit.apply_changes(report, {"file_name": file_name[-255:], "import_job_id": import_job_id}))
            report.reported_at, report.reported_by_id = now, _user_id(actor)
            if report.confirmed_at is not None and not confirm:  # changed figures need confirming again
                changes["confirmed"] = [True, False]
                report.confirmed_by_id, report.confirmed_at = None, None
        if confirm and report.confirmed_at is None:
            changes["confirmed"] = [False, True]
            report.confirmed_by_id, report.confirmed_at = _user_id(actor), now
        if changes:
            _audited(staged, "update", report, actor=actor, enterprise_id=enterprise.id, changes=changes,
                     summary=f"{enterprise.name} {year} {source}")
    return resolve_figures(enterprise, year, actor=actor, reports=reports, figures=figures, staged=staged)


def save_figures(enterprise: Enterprise, data: dict, *, actor, figures: AnnualFigures | None = None,
                 version=None) -> AnnualFigures:
    """A year's figures as typed on the registry's form (source: the officer, unless `data` names one): create
    (figures=None) or correct the year's figures (refused when `version` is not the current one). A correction
    goes into the source's report: the values it gave, and those typed differently from what is on record (a
    value of another source left as it stands stays that source's). Returns the year's effective figures."""
    if figures is not None:
        check_version(figures, version)
    data = dict(data)
    source = data.pop("source", None) or FigureSource.OFFICER
    errors = check_figures(data, this_year=clock.today().year)
    clash = select(AnnualFigures.id).where(
        AnnualFigures.enterprise_id == enterprise.id, AnnualFigures.year == data.get("year"))
    if figures is not None:
        clash = clash.where(AnnualFigures.id != figures.id)
    if "year" not in errors and db.session.scalar(clash) is not None:
        errors["year"] = [_l("Figures for %(year)s already exist; edit that year instead.", year=data["year"])]
    if errors:
        raise ValidationFailed(errors)
    year = data["year"]
    values = round_amounts({name: data[name] for name in FIGURE_VALUE_FIELDS if name in data})
    if figures is None:
        return save_report(enterprise, year, source, values, actor=actor)
    reports = year_reports(enterprise.id, figures.year, figures)
    own = next((r for r in reports if r.source == source), None)
    values = {name: value for name, value in values.items()
              if (own is not None and getattr(own, name) is not None) or value != getattr(figures, name)}
    if own is None and not values:
        return figures  # nothing typed differently from what is on record
    if year != figures.year:
        if any(r.source != source for r in reports):
            raise ValidationFailed.one("year", _l(
                "Several sources reported the figures of %(year)s; enter the other year's figures separately.",
                year=figures.year))
        for report in reports:
            changes = audit.apply_changes(report, {"year": year})
            db.session.flush()
            audit.record(db.session, "update", report, actor=actor, enterprise_id=enterprise.id, changes=changes,
                         summary=f"{enterprise.name} {year} {report.source}")
    save_report(enterprise, year, source, values, actor=actor, reports=reports, figures=figures)
    return figures


def confirm_report(report: FigureReport, *, actor) -> None:
    """Confirm one source's figures of a year (an officer checked them); the year's figures are resolved again."""
    if report.confirmed_at is None:
        report.confirmed_by_id, report.confirmed_at = _user_id(actor), utcnow()
        db.session.flush()
        audit.record(db.session, "verify", report, actor=actor, enterprise_id=report.enterprise_id,
                     changes={"confirmed": [False, True]}, summary=f"{report.year} {report.source}")
    enterprise = db.session.get(Enterprise, report.enterprise_id)
    resolve_figures(enterprise, report.year, actor=actor, action="verify")


def verify_figures(figures: AnnualFigures, *, actor) -> None:
    """Mark a year's figures as checked by an officer: every report whose values the year holds is confirmed."""
    if figures.verified:
        return
    reports = year_reports(figures.enterprise_id, figures.year, figures)
    resolution = queries.resolve_reports(reports, queries.source_ranks())
    now = utcnow()
    for report in resolution.winners:
        if report.confirmed_at is None:
            report.confirmed_by_id, report.confirmed_at = _user_id(actor), now
            db.session.flush()
            audit.record(db.session, "verify", report, actor=actor, enterprise_id=report.enterprise_id,
                         changes={"confirmed": [False, True]}, summary=f"{report.year} {report.source}")
    resolve_figures(figures.enterprise, figures.year, actor=actor, reports=reports, figures=figures,
                    action="verify")


# --- intellectual property ----------------------------------------------------------------


def _check_ip(enterprise: Enterprise, data: dict, item: IntellectualProperty | None) -> None:
    errors: dict[str, list] = {}
    if data.get("kind") not in {k.value for k in IPKind}:
        errors["kind"] = [_l("Unknown kind of intellectual property.")]
    clash = select(IntellectualProperty.id).where(
        IntellectualProperty.enterprise_id == enterprise.id,
        IntellectualProperty.kind == data.get("kind"),
        IntellectualProperty.number == data.get("number"),
    )
    if item is not None:
        clash = clash.where(IntellectualProperty.id != item.id)
    if db.session.scalar(clash) is not None:
        errors["number"] = [_l("This enterprise already has an item of this kind with this number.")]
    granted = data.get("granted_on")
    if granted is not None and granted > clock.today():
        errors["granted_on"] = [_l("The grant date cannot be in the future.")]
    if errors:
        raise ValidationFailed(errors)


def check_ip(enterprise: Enterprise, data: dict) -> None:
    """The rules a new IP item of the enterprise must meet (the portal checks a submission with them)."""
    _check_ip(enterprise, data, None)


def save_ip(enterprise: Enterprise, data: dict, *, actor, item: IntellectualProperty | None = None):
    """Create or update an IP item of the enterprise."""
    _check_ip(enterprise, data, item)
    if item is None:
        item = IntellectualProperty(enterprise_id=enterprise.id, **data)
        db.session.add(item)
        db.session.flush()
        action, changes = "create", audit.snapshot(item, IP_FIELDS)
    else:
        action, changes = "update", audit.apply_changes(item, data)
        if not changes:
            return item
        db.session.flush()
    audit.record(db.session, action, item, actor=actor, enterprise_id=enterprise.id, changes=changes,
                 summary=item.number)
    _rematch([enterprise.id])
    return item


def remove_ip(item: IntellectualProperty, *, actor) -> None:
    """Remove an IP item entered by mistake (the trail keeps what it held)."""
    audit.record(db.session, "delete", item, actor=actor, enterprise_id=item.enterprise_id,
                 changes={k: [v, None] for k, (_, v) in audit.snapshot(item, IP_FIELDS).items()},
                 summary=item.number)
    db.session.delete(item)
    db.session.flush()
    _rematch([item.enterprise_id])


# --- regions ------------------------------------------------------------------------------


def _check_region(data: dict, region: Region | None) -> Region | None:
    errors: dict[str, list] = {}
    code = (data.get("code") or "").strip().upper()
    data["code"] = code
    level = data.get("level")
    parent = db.session.get(Region, data["parent_id"]) if data.get("parent_id") else None
    if level not in {lv.value for lv in RegionLevel}:
        errors["level"] = [_l("Unknown level.")]
    else:
        allowed = ALLOWED_PARENT_LEVELS[RegionLevel(level)]
        parent_level = RegionLevel(parent.level) if parent else None
        if parent_level not in allowed:
            errors["parent_id"] = [_l("This level cannot sit under the chosen parent.")]
        if level == RegionLevel.PARK:
            if not re.fullmatch(r"[A-Z0-9-]{4,12}", code):
                errors["code"] = [_l("A park code has 4 to 12 letters, digits or hyphens.")]
        elif not re.fullmatch(r"[0-9]{6}", code):
            errors["code"] = [_l("A GB/T 2260 code has six digits.")]
        elif level == RegionLevel.PROVINCE and not code.endswith("0000"):
            errors["code"] = [_l("A province code ends in 0000.")]
        elif level == RegionLevel.CITY and (not code.endswith("00") or code.endswith("0000")):
            errors["code"] = [_l("A city code ends in 00 (but not 0000).")]
        elif parent is not None and parent.code[:2] != code[:2]:
            errors["code"] = [_l("The code must start with the province's two digits (%(p)s).", p=parent.code[:2])]
        elif level == RegionLevel.COUNTY and (code.endswith("00") or (
                parent is not None and parent.level == RegionLevel.CITY and parent.code[:4] != code[:4])):
            errors["code"] = [_l("A county code starts with its city's four digits and does not end in 00.")]
        if region is not None and any(
                RegionLevel(level) not in ALLOWED_PARENT_LEVELS[RegionLevel(child.level)] for child in region.children):
            errors["level"] = [_l("The regions below this one cannot sit under this level.")]
    if region is not None and parent is not None and parent.path.startswith(region.path):
        errors["parent_id"] = [_l("A region cannot sit under itself or its own descendants.")]
    clash = select(Region.id).where(Region.code == code)
    if region is not None:
        clash = clash.where(Region.id != region.id)
    if code and db.session.scalar(clash) is not None:
        errors.setdefault("code", []).append(_l("Another region already has this code."))
    if errors:
        raise ValidationFailed(errors)
    return parent


def create_region(data: dict, *, actor) -> Region:
    """Add a region under its parent."""
    data = dict(data)
    parent = _check_region(data, None)
    region = Region(**data)
    db.session.add(region)
    db.session.flush()
    region.path = f"{parent.path if parent else '/'}{region.id}/"
    db.session.flush()
    audit.record(db.session, "create", region, actor=actor, changes=audit.snapshot(region, REGION_FIELDS),
                 summary=region.name)
    return region


def update_region(region: Region, data: dict, *, actor) -> dict:
    """Rename, recode or move a region; a move re-paths its whole subtree."""
    data = dict(data)
    parent = _check_region(data, region)
    old_path = region.path
    changes = audit.apply_changes(region, data)
    if "parent_id" in changes:
        new_path = f"{parent.path if parent else '/'}{region.id}/"
        for node in db.session.scalars(select(Region).where(Region.path.startswith(old_path))):
            node.path = new_path + node.path[len(old_path):]
    if changes:
        db.session.flush()
        audit.record(db.session, "update", region, actor=actor, changes=changes, summary=region.name)
    return changes


def _rematch(enterprise_ids) -> None:
    """Re-match these enterprises against every policy and re-rank them for every tier in this unit of work
    (crm.policies.services, imported here, not at load time: crm.policies reads enterprises)."""
    from crm.ladder.services import rerank_enterprises
    from crm.policies.services import rematch_enterprises

    rematch_enterprises(enterprise_ids)
    rerank_enterprises(enterprise_ids)  # and the stored candidate ranks (crm.ladder.services)
