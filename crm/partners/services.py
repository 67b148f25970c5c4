"""Writes on partners and referrals. Validate, flush, audit; callers commit.

A need is referred to a partner only with the enterprise's consent on record (who agreed, when, how):
the partner will learn the enterprise's name and its need. The need's own status is not touched —
the partner works beside the officer, who still closes the need.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.core import audit, clock
from crm.core.validation import ValidationFailed
from crm.extensions import db
from crm.partners.models import (
    CLOSED_REFERRAL_STATUSES,
    CONSENT_MODE_LABELS,
    PARTNER_KIND_LABELS,
    PARTNER_REFERRAL_STATUS_LABELS,
    REFERRAL_TRANSITIONS,
    Partner,
    PartnerReferral,
    PartnerReferralStatus,
)

PARTNER_FIELDS = ["name", "kind", "region_id", "contact_name", "phone", "email", "specialities", "note", "active"]
_MAX = {"name": 120, "contact_name": 60, "phone": 32, "email": 120}


def _clean_partner(data: dict) -> dict:
    from crm.service.models import NEED_CATEGORY_LABELS

    values = {name: data.get(name) for name in PARTNER_FIELDS}
    for name in ("name", "contact_name", "phone", "email", "note"):
        values[name] = (values[name] or "").strip()
    values["active"] = bool(data.get("active", True))
    values["specialities"] = [c for c in NEED_CATEGORY_LABELS if c in (values["specialities"] or [])]
    errors: dict[str, list] = {}
    if not values["name"]:
        errors["name"] = [_l("This field is required.")]
    if values["kind"] not in PARTNER_KIND_LABELS:
        errors["kind"] = [_l("Choose the kind of partner.")]
    if not values["region_id"]:
        errors["region_id"] = [_l("This field is required.")]
    for name, limit in _MAX.items():
        if len(values[name]) > limit:
            errors.setdefault(name, []).append(_l("At most %(max)d characters.", max=limit))
    if errors:
        raise ValidationFailed(errors)
    return values


def create_partner(data: dict, *, actor) -> Partner:
    """Add a partner (name, kind and region required)."""
    partner = Partner(**_clean_partner(data))
    db.session.add(partner)
    db.session.flush()
    audit.record(db.session, "create", partner, actor=actor, summary=partner.name,
                 changes=audit.snapshot(partner, PARTNER_FIELDS))
    return partner


def update_partner(partner: Partner, data: dict, *, actor) -> dict:
    """Change a partner; returns the changes recorded."""
    values = _clean_partner({**{n: getattr(partner, n) for n in PARTNER_FIELDS}, **data})
    changes = audit.apply_changes(partner, values)
    if changes:
        db.session.flush()
        audit.record(db.session, "update", partner, actor=actor, changes=changes, summary=partner.name)
    return changes


def refer_need(need, partner: Partner, *, consent_by: str, consent_on, consent_mode: str, actor,
               today=None) -> PartnerReferral:
    """Refer an open need to an active partner, with the enterprise's consent recorded (who, when, how)."""
    today = today or clock.today()
    errors: dict[str, list] = {}
    consent_by = (consent_by or "").strip()
    if not consent_by:
        errors["consent_by"] = [_l("Say who at the enterprise agreed to the referral.")]
    elif len(consent_by) > 60:
        errors["consent_by"] = [_l("At most %(max)d characters.", max=60)]
    if consent_on is None:
        errors["consent_on"] = [_l("Say when the enterprise agreed.")]
    elif consent_on > today:
        errors["consent_on"] = [_l("Consent cannot be given in the future.")]
    if consent_mode not in CONSENT_MODE_LABELS:
        errors["consent_mode"] = [_l("Say how the enterprise agreed.")]
    if not need.is_open:
        errors[""] = [_l("Only open needs are referred to partners.")]
    if not partner.active:
        errors["partner_id"] = [_l("This partner is no longer in use.")]
    if errors:
        raise ValidationFailed(errors)
    if db.session.query(PartnerReferral.id).filter_by(need_id=need.id, partner_id=partner.id).first() is not None:
        raise ValidationFailed.one("partner_id", _l("This need has already been referred to that partner."))
    referral = PartnerReferral(need_id=need.id, partner_id=partner.id, enterprise_id=need.enterprise_id,
                        status=PartnerReferralStatus.PROPOSED, referred_on=today, consent_by=consent_by,
                        consent_on=consent_on, consent_mode=consent_mode,
                        consent_recorded_by_id=getattr(actor, "id", None), outcome_note="")
    db.session.add(referral)
    db.session.flush()
    audit.record(db.session, "create", referral, actor=actor, enterprise_id=need.enterprise_id,
                 summary=f"{need.title} → {partner.name}",
                 changes={"partner": [None, partner.name], "need": [None, need.title],
                          "consent": [None, f"{consent_by} · {consent_on.isoformat()} · {consent_mode}"]})
    return referral


def move_referral(referral: PartnerReferral, status: str, *, actor, loan_amount=None, contract_amount=None,
                  outcome_note: str = "", today=None) -> dict:
    """Move a referral one allowed step; success needs an outcome (an amount or a note), failure a note."""
    today = today or clock.today()
    allowed = REFERRAL_TRANSITIONS.get(referral.status, ())
    if status not in allowed:
        raise ValidationFailed.one("status", _l("“%(current)s” cannot become “%(target)s”.",
                                                current=PARTNER_REFERRAL_STATUS_LABELS.get(referral.status, referral.status),
                                                target=PARTNER_REFERRAL_STATUS_LABELS.get(status, status)))
    note = (outcome_note or "").strip()
    for name, amount in (("loan_amount", loan_amount), ("contract_amount", contract_amount)):
        if amount is not None and amount < 0:
            raise ValidationFailed.one(name, _l("Enter an amount of at least 0."))
    if status == PartnerReferralStatus.SUCCEEDED and loan_amount is None and contract_amount is None and not note:
        raise ValidationFailed.one("outcome_note", _l("Say what came of it: the loan, the contract or a note."))
    if status == PartnerReferralStatus.FAILED and not note:
        raise ValidationFailed.one("outcome_note", _l("Say why it did not work out."))
    values = {"status": status}
    if status in CLOSED_REFERRAL_STATUSES:
        values.update(closed_on=today, outcome_note=note, loan_amount=loan_amount, contract_amount=contract_amount)
    elif note:
        values["outcome_note"] = note
    changes = audit.apply_changes(referral, values)
    db.session.flush()
    audit.record(db.session, "status", referral, actor=actor, enterprise_id=referral.enterprise_id,
                 changes=changes, summary=f"{referral.enterprise.name} → {referral.partner.name}")
    return changes
