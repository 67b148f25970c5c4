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


def save_figures(enterprise: Enterprise, data: dict, *, actor, figures: AnnualFigures | None = None,
                 version=None) -> AnnualFigures:
    """Create (figures=None) or update a year's figures (refused when `version` is not the current one)."""
    if figures is not None:
        check_version(figures, version)
    data = dict(data)
    data.setdefault("source", FigureSource.OFFICER)
    errors = check_figures(data, this_year=clock.today().year)
    clash = select(AnnualFigures.id).where(
        AnnualFigures.enterprise_id == enterprise.id, AnnualFigures.year == data.get("year"))
    if figures is not None:
        clash = clash.where(AnnualFigures.id != figures.id)
    if "year" not in errors and db.session.scalar(clash) is not None:
        errors["year"] = [_l("Figures for %(year)s already exist; edit that year instead.", year=data["year"])]
    if errors:
        raise ValidationFailed(errors)
    round_amounts(data)
    if figures is None:
        figures = AnnualFigures(enterprise_id=enterprise.id, **data)
        db.session.add(figures)
        db.session.flush()
        action, changes = "create", audit.snapshot(figures, FIGURE_FIELDS)
    else:
        action, changes = "update", audit.apply_changes(figures, data)
        if not changes:
            return figures
        # Changed figures need verifying again.
        if figures.verified:
            changes["verified"] = [True, False]
            figures.verified, figures.verified_by_id, figures.verified_at = False, None, None
        flush_versioned(figures)
    audit.record(db.session, action, figures, actor=actor, enterprise_id=enterprise.id, changes=changes,
                 summary=f"{enterprise.name} {figures.year}")
    _rematch([enterprise.id])
    return figures


def verify_figures(figures: AnnualFigures, *, actor) -> None:
    """Mark a year's figures as checked by an officer."""
    if figures.verified:
        return
    figures.verified, figures.verified_by_id, figures.verified_at = True, actor.id, utcnow()
    db.session.flush()
    audit.record(db.session, "verify", figures, actor=actor, enterprise_id=figures.enterprise_id,
                 changes={"verified": [False, True]}, summary=str(figures.year))


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
