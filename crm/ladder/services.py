"""Writes on the ladder: certifications (with their timeline events and the current tier), readiness inputs."""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core import audit, clock
from crm.core.validation import ValidationFailed
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.ladder.models import (
    FLAG_FIELDS, JUDGEMENT_FIELDS, JUDGEMENT_MAX, Certification, CertificationStatus, ReadinessInputs, TierEvent,
    TierEventKind,
)
from crm.ladder.tiers import Tier

CERTIFICATION_FIELDS = ["tier", "certificate_no", "issued_on", "expires_on", "expiry_overridden", "issuer",
                        "status", "note"]


def compute_expiry(tier: str, issued_on: date) -> date | None:
    """The expiry where the rule is known: high_tech three years, tech_sme the end of its year."""
    if tier == Tier.HIGH_TECH:
        try:
            return issued_on.replace(year=issued_on.year + 3) - timedelta(days=1)
        except ValueError:  # 29 February
            return date(issued_on.year + 3, 2, 28)
    if tier == Tier.TECH_SME:
        return date(issued_on.year, 12, 31)
    return None


def current_tier_of(certifications, day: date) -> str | None:
    """The highest tier among the certifications valid on `day`, or None (a candidate)."""
    held = [Tier(c.tier) for c in certifications if c.is_valid_on(day)]
    return max(held, key=lambda t: t.order).value if held else None


def refresh_current_tier(enterprise: Enterprise, day: date | None = None) -> None:
    """Recompute the enterprise's denormalised current tier from its certifications."""
    certs = db.session.scalars(select(Certification).where(Certification.enterprise_id == enterprise.id)).all()
    tier = current_tier_of(certs, day or clock.today())
    if enterprise.current_tier != tier:
        enterprise.current_tier = tier


def _event(cert: Certification, kind: TierEventKind, on: date, actor) -> None:
    db.session.add(TierEvent(enterprise_id=cert.enterprise_id, certification_id=cert.id, tier=cert.tier,
                             kind=kind, occurred_on=on, actor_id=getattr(actor, "id", None)))


def _check(enterprise: Enterprise, data: dict, cert: Certification | None) -> dict:
    errors: dict[str, list] = {}
    today = clock.today()
    if data.get("tier") not in {t.value for t in Tier}:
        errors["tier"] = [_l("Unknown tier.")]
    if data.get("status", CertificationStatus.ACTIVE) not in {s.value for s in CertificationStatus}:
        errors["status"] = [_l("Unknown status.")]
    issued = data.get("issued_on")
    if issued is None:
        errors["issued_on"] = [_l("This field is required.")]
    elif issued > today:
        errors["issued_on"] = [_l("The issue date cannot be in the future.")]
    elif issued.year < 1990:
        errors["issued_on"] = [_l("The issue date must be after 1990.")]
    if errors:
        raise ValidationFailed(errors)
    computed = compute_expiry(data["tier"], issued)
    if data.get("expires_on") is None:
        data["expires_on"], data["expiry_overridden"] = computed, False
    else:
        data["expiry_overridden"] = data["expires_on"] != computed
    if data["expires_on"] is not None and data["expires_on"] < issued:
        errors["expires_on"] = [_l("The expiry cannot be before the issue date.")]
    clash = select(Certification.id).where(Certification.tier == data["tier"],
                                           Certification.certificate_no == data["certificate_no"])
    if cert is not None:
        clash = clash.where(Certification.id != cert.id)
    if db.session.scalar(clash) is not None:
        errors["certificate_no"] = [_l("A certification of this tier with this number is already recorded.")]
    if data.get("status", CertificationStatus.ACTIVE) == CertificationStatus.ACTIVE and not errors:
        end = data["expires_on"] or date.max
        for other in db.session.scalars(select(Certification).where(
                Certification.enterprise_id == enterprise.id, Certification.tier == data["tier"],
                Certification.status == CertificationStatus.ACTIVE)):
            if cert is not None and other.id == cert.id:
                continue
            if other.issued_on <= end and (other.expires_on is None or other.expires_on >= issued):
                errors["issued_on"] = [_l("Another valid certification of this tier overlaps this period (%(no)s).",
                                          no=other.certificate_no)]
    if errors:
        raise ValidationFailed(errors)
    return data


def record_certification(enterprise: Enterprise, data: dict, *, actor) -> Certification:
    """Record a certification; the timeline gets a 'certified' event and the current tier is recomputed."""
    data = _check(enterprise, dict(data), None)
    status = data.setdefault("status", CertificationStatus.ACTIVE)
    cert = Certification(enterprise_id=enterprise.id, status_changed_on=clock.today(), **data)
    db.session.add(cert)
    db.session.flush()
    _event(cert, TierEventKind.GAINED, cert.issued_on, actor)
    if status == CertificationStatus.EXPIRED and cert.expires_on:
        _event(cert, TierEventKind.EXPIRED, cert.expires_on + timedelta(days=1), actor)
    elif status == CertificationStatus.REVOKED:
        _event(cert, TierEventKind.REVOKED, clock.today(), actor)
    refresh_current_tier(enterprise)
    db.session.flush()
    audit.record(db.session, "create", cert, actor=actor, enterprise_id=enterprise.id,
                 changes=audit.snapshot(cert, CERTIFICATION_FIELDS), summary=cert.certificate_no)
    return cert


def update_certification(cert: Certification, data: dict, *, actor) -> dict:
    """Correct a certification; a status change adds its event to the timeline."""
    enterprise = cert.enterprise
    data = _check(enterprise, dict(data), cert)
    old_status = cert.status
    changes = audit.apply_changes(cert, data)
    if not changes:
        return changes
    if "status" in changes:
        cert.status_changed_on = clock.today()
        kind = {CertificationStatus.REVOKED: TierEventKind.REVOKED, CertificationStatus.EXPIRED: TierEventKind.EXPIRED,
                CertificationStatus.ACTIVE: TierEventKind.REINSTATED}[CertificationStatus(cert.status)]
        on = clock.today()
        if kind == TierEventKind.EXPIRED and cert.expires_on and old_status == CertificationStatus.ACTIVE:
            on = min(on, cert.expires_on + timedelta(days=1))
        _event(cert, kind, on, actor)
    refresh_current_tier(enterprise)
    db.session.flush()
    audit.record(db.session, "update", cert, actor=actor, enterprise_id=cert.enterprise_id, changes=changes,
                 summary=cert.certificate_no)
    return changes


def revoke_certification(cert: Certification, *, actor, note: str = "") -> None:
    """Revoke a valid certification (e.g. after a spot check)."""
    if cert.status == CertificationStatus.REVOKED:
        return
    data = {name: getattr(cert, name) for name in CERTIFICATION_FIELDS}
    data.update(status=CertificationStatus.REVOKED, note=note or cert.note)
    update_certification(cert, data, actor=actor)


def expire_due_certifications(day: date | None = None, *, actor=None) -> int:
    """Mark certifications past their expiry as expired, once each; returns how many (safe to run twice)."""
    day = day or clock.today()
    due = db.session.scalars(select(Certification).where(
        Certification.status == CertificationStatus.ACTIVE, Certification.expires_on < day)).all()
    touched: dict[int, Enterprise] = {}
    for cert in due:
        cert.status, cert.status_changed_on = CertificationStatus.EXPIRED, day
        _event(cert, TierEventKind.EXPIRED, cert.expires_on + timedelta(days=1), actor)
        audit.record(db.session, "update", cert, actor=actor or "scheduler", enterprise_id=cert.enterprise_id,
                     changes={"status": ["active", "expired"]}, summary=cert.certificate_no)
        touched[cert.enterprise_id] = cert.enterprise
    for enterprise in touched.values():
        refresh_current_tier(enterprise, day)
    db.session.flush()
    return len(due)


def inputs_for(enterprise: Enterprise) -> ReadinessInputs:
    """The enterprise's readiness inputs (a blank, unsaved row when none were entered)."""
    return db.session.get(ReadinessInputs, enterprise.id) or ReadinessInputs(enterprise_id=enterprise.id)


def save_readiness_inputs(enterprise: Enterprise, data: dict, *, actor) -> dict:
    """Save the yes/no facts and judgement items; None means not known."""
    errors = {}
    for name in JUDGEMENT_FIELDS:
        value = data.get(name)
        if value is not None and not (0 <= value <= JUDGEMENT_MAX[name]):
            errors[name] = [_l("Between 0 and %(max)s points.", max=JUDGEMENT_MAX[name])]
    if errors:
        raise ValidationFailed(errors)
    inputs = db.session.get(ReadinessInputs, enterprise.id)
    if inputs is None:
        inputs = ReadinessInputs(enterprise_id=enterprise.id)
        db.session.add(inputs)
    fields = {k: data.get(k) for k in (*FLAG_FIELDS, *JUDGEMENT_FIELDS)}
    changes = audit.apply_changes(inputs, fields)
    if changes:
        inputs.updated_by_id = getattr(actor, "id", None)
        db.session.flush()
        audit.record(db.session, "update", inputs, actor=actor, enterprise_id=enterprise.id, changes=changes,
                     summary=enterprise.name)
    return changes
