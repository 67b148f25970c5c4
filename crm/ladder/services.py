"""Writes on the ladder: certifications (with their timeline events and the current tier), readiness inputs."""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core import audit, clock
from crm.core.concurrency import check_version, flush_versioned
from crm.core.derived import DeferrableRefresh
from crm.core.validation import ValidationFailed
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.ladder.models import (
    FLAG_FIELDS,
    JUDGEMENT_FIELDS,
    JUDGEMENT_MAX,
    Certification,
    CertificationStatus,
    ReadinessInputs,
    TierEvent,
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
    _rematch([enterprise.id])
    return cert


def update_certification(cert: Certification, data: dict, *, actor, version=None) -> dict:
    """Correct a certification (refused when `version` is not the current one); a status change adds its
    event to the timeline."""
    check_version(cert, version)
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
    flush_versioned(cert)
    audit.record(db.session, "update", cert, actor=actor, enterprise_id=cert.enterprise_id, changes=changes,
                 summary=cert.certificate_no)
    _rematch([cert.enterprise_id])
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
    if touched:
        _rematch(list(touched))
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
    if inputs is not None and inputs.clean_record_source and data.get("clean_record") is not False:
        # on a negative list (crm.credit): the flag is the screening's until the entry is lifted
        raise ValidationFailed.one("clean_record", _l(
            "On a negative list (%(source)s) since %(day)s: the clean record stays “no” until the entry is lifted.",
            source=inputs.clean_record_source, day=inputs.clean_record_on.isoformat() if inputs.clean_record_on
            else "—"))
    if inputs is None:
        inputs = ReadinessInputs(enterprise_id=enterprise.id, clean_record_source="")
        db.session.add(inputs)
    fields = {k: data.get(k) for k in (*FLAG_FIELDS, *JUDGEMENT_FIELDS)}
    changes = audit.apply_changes(inputs, fields)
    if changes:
        inputs.updated_by_id = getattr(actor, "id", None)
        db.session.flush()
        audit.record(db.session, "update", inputs, actor=actor, enterprise_id=enterprise.id, changes=changes,
                     summary=enterprise.name)
        _rematch([enterprise.id])
    return changes


# --- rule settings ---------------------------------------------------------------------------
# An admin's version of a tier's rule set: the whole rule-set dict, validated by the engine, stored as
# RuleSetVersion(tier, version = previous + 1). The newest is in force at once (queries.active_rulesets).
# Its data is stamped "<shipped id>+local" with the local version number, so every readiness result
# names the version it used (display.ruleset_version_label). National tiers accept their options only.

import copy as _copy  # noqa: E402
import json as _json  # noqa: E402
import re as _re  # noqa: E402
from dataclasses import dataclass as _dataclass  # noqa: E402
from dataclasses import field as _field  # noqa: E402
from decimal import Decimal as _Decimal  # noqa: E402

from flask_babel import gettext as _  # noqa: E402

from crm.ladder.display import LOCAL_RULESET_SUFFIX, shipped_ruleset_id  # noqa: E402

# Options a rule set's criterion may carry besides thresholds, by kind (national tiers accept only these).
RULE_OPTIONS = {"sme_score": ("high_tech_certificate_qualifies",)}
RULE_OPTION_LABELS = {
    "high_tech_certificate_qualifies": _l("A valid high-tech certificate qualifies directly (the 2017 text)"),
}
# The numeric parameters of the kinds (what the settings page offers an input for).
_NUMERIC_KEYS = frozenset({"value", "min", "min_days", "max_days", "class1_min", "class2_min", "total_min",
                           "threshold", "max", "below"})
_SYMBOLS = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}
_UNIT_PLACES = {"percent": 4, "万元": 2, "points": 1, "persons": 0, "days": 0, "items": 0}


def _lang_index() -> int:
    from crm.core.i18n import current_language

    return 1 if current_language() == "en" else 0


def _data_lang() -> str:
    return ("zh", "en")[_lang_index()]


def plain_number(value) -> str:
    """A number as plain text without trailing zeros ("2000", "0.03", "3.5")."""
    from crm.ladder.profile import to_decimal

    number = to_decimal(value)
    return "0" if number == 0 else format(number.normalize(), "f")


def _shown(value, unit: str) -> str:
    from crm.ladder.engine import UNIT_NAMES

    if value is None:
        return "—"
    if unit == "percent":
        return f"{plain_number(value)}%"
    name = UNIT_NAMES.get(unit, ("", ""))[_lang_index()]
    return f"{plain_number(value)} {name}".strip()


def unit_name(unit: str) -> str:
    """The unit after an input: %, 万元, 人, 天, 件, 分 (or the English)."""
    from crm.ladder.engine import UNIT_NAMES

    return "%" if unit == "percent" else UNIT_NAMES.get(unit, ("", ""))[_lang_index()]


@_dataclass
class RuleParam:
    """A numeric parameter of a criterion as the settings page shows it (ratios as percentages)."""

    name: str     # the form field: c<index>_<path>
    path: tuple   # where it sits in the criterion's dict, e.g. ("bands", 0, "value")
    unit: str     # percent, 万元, persons, days, items, points
    label: str
    value: _Decimal | None  # as shown: a ratio of 0.03 is 3

    @property
    def shown(self) -> str:
        return _shown(self.value, self.unit)

    @property
    def places(self) -> int:
        return _UNIT_PLACES.get(self.unit, 2)

    def stored(self, value: _Decimal):
        """The value to store for what was typed: a fraction for a percentage, an int for a count."""
        if self.unit == "percent":
            return value / 100
        return int(value) if self.places == 0 else value


@_dataclass
class RuleOption:
    """A yes/no option of a criterion (e.g. tech_sme's high_tech_certificate_qualifies)."""

    name: str
    key: str
    label: str
    value: bool


@_dataclass
class RuleCriterion:
    """A criterion of a rule set as the settings page shows it."""

    index: int
    id: str
    kind: str
    label: dict
    source: str
    enabled: bool
    editable: bool            # thresholds, labels and the switch (regional tiers only)
    optional: bool            # off in the shipped rules: an option of the region
    params: list = _field(default_factory=list)
    options: list = _field(default_factory=list)
    summary: str = ""         # what a criterion without numbers checks

    @property
    def enabled_name(self) -> str:
        return f"c{self.index}_enabled"

    def label_name(self, lang: str) -> str:
        return f"c{self.index}_label_{lang}"

    @property
    def shown_label(self) -> str:
        return self.label.get(_data_lang()) or self.label.get("zh", "")


def _texts(value) -> dict:
    if isinstance(value, str):
        return {"zh": value, "en": value}
    return dict(value) if isinstance(value, dict) else {"zh": "", "en": ""}


def _get_path(data, path):
    for step in path:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _criterion_params(i: int, c: dict) -> list[RuleParam]:
    from crm.ladder.engine import FIELD_NAMES
    from crm.ladder.profile import PEOPLE_FIELDS, to_decimal

    li = _lang_index()
    params: list[RuleParam] = []

    def add(path: tuple, unit: str, label: str) -> None:
        raw = _get_path(c, path)
        if raw is None or isinstance(raw, bool):
            return
        try:
            value = to_decimal(raw)
        except ValueError:
            return
        params.append(RuleParam(f"c{i}_" + "_".join(map(str, path)), path, unit,
                                label, value * 100 if unit == "percent" else value))

    def field_name(name) -> str:
        return FIELD_NAMES.get(name, (name, name))[li] if isinstance(name, str) else str(name)

    kind = c.get("kind")
    sym = _SYMBOLS.get(c.get("op", ">="), "≥")
    if kind == "age_days":
        add(("min_days",), "days", _("Operating for at least"))
        add(("max_days",), "days", _("Operating for at most"))
    elif kind == "metric":
        unit = c.get("unit") or ("persons" if c.get("field") in PEOPLE_FIELDS else "万元")
        add(("value",), unit if unit in _UNIT_PLACES else "万元", f"{field_name(c.get('field'))} {sym}")
    elif kind in ("ratio", "cagr"):
        if kind == "ratio":
            what = f"{field_name(c.get('numerator'))} ÷ {field_name(c.get('denominator'))}"
            key = "value"
        else:
            what = _("Yearly growth of %(field)s", field=field_name(c.get("field", "revenue")))
            key = "min"
        add((key,), "percent", f"{what} {sym}")
        bands = c.get("bands") if isinstance(c.get("bands"), list) else []
        by = (c.get("band_by") or {}).get("field") if isinstance(c.get("band_by"), dict) else None
        by_unit = "persons" if by in PEOPLE_FIELDS else "万元"
        for b, band in enumerate(bands):
            if not isinstance(band, dict):
                continue
            if band.get("max") is not None:
                add(("bands", b, "max"), by_unit, _("Band %(n)s: %(field)s up to", n=b + 1, field=field_name(by)))
            elif band.get("below") is not None:
                add(("bands", b, "below"), by_unit, _("Band %(n)s: %(field)s below", n=b + 1, field=field_name(by)))
            if band.get("max") is None and band.get("below") is None:
                add(("bands", b, "value"), "percent", _("Band %(n)s (all above): %(what)s %(op)s",
                                                        n=b + 1, what=what, op=sym))
            else:
                add(("bands", b, "value"), "percent", _("Band %(n)s: %(what)s %(op)s", n=b + 1, what=what, op=sym))
    elif kind == "ip_count":
        add(("class1_min",), "items", _("Class I IP items, at least"))
        add(("class2_min",), "items", _("Class II IP items, at least"))
        add(("total_min",), "items", _("IP items in all, at least"))
    elif kind in ("sme_score", "ht_innovation_score"):
        add(("threshold",), "points", _("Score %(op)s", op=_SYMBOLS.get(c.get("comparison", ">="), "≥")))
    return params


def _criterion_summary(c: dict) -> str:
    from crm.enterprises.models import TECH_DOMAIN_LABELS
    from crm.ladder.engine import FIELD_NAMES, TECH_DOMAINS
    from crm.ladder.tiers import TIER_LABELS

    li = _lang_index()
    kind = c.get("kind")
    if kind == "flag":
        name = FIELD_NAMES.get("flags." + str(c.get("flag")), (c.get("flag"), c.get("flag")))[li]
        return f"{name}: {_('Yes') if c.get('expected', True) else _('No')}"
    if kind == "base_tier":
        names = [str(TIER_LABELS.get(t, t)) for t in c.get("any_of") or []]
        return _("Holds a valid certification of: %(tiers)s", tiers=" / ".join(names))
    if kind == "domain_in":
        domains = c.get("domains") or list(TECH_DOMAINS)
        if set(domains) == set(TECH_DOMAINS):
            return _("Any of the eight supported high-tech domains")
        return "、".join(str(TECH_DOMAIN_LABELS.get(d, d)) for d in domains)
    if kind in ("sme_score", "ht_innovation_score"):
        return _("Points by bands, as in the national guidelines")
    if kind == "ip_count" and sum(1 for key in ("class1_min", "class2_min", "total_min") if c.get(key) is not None) > 1:
        return _("Any one of these counts suffices.")
    return ""


def rule_criteria(tier: str, data: dict) -> list[RuleCriterion]:
    """The criteria of a rule-set dict as the settings page shows and edits them."""
    from crm.ladder.engine import REGIONAL_TIERS, shipped_ruleset_dicts

    regional = tier in REGIONAL_TIERS
    shipped_off = {c.get("id") for c in shipped_ruleset_dicts().get(tier, {}).get("criteria", [])
                   if c.get("enabled") is False}
    out = []
    lang = _data_lang()
    for i, c in enumerate(data.get("criteria") or []):
        if not isinstance(c, dict):
            continue
        options = [RuleOption(f"c{i}_{key}", key, str(RULE_OPTION_LABELS.get(key, key)), bool(c.get(key, False)))
                   for key in RULE_OPTIONS.get(c.get("kind"), ())]
        out.append(RuleCriterion(
            index=i, id=str(c.get("id", "")), kind=str(c.get("kind", "")), label=_texts(c.get("label")),
            source=_texts(c.get("source", "")).get(lang, ""), enabled=c.get("enabled", True) is not False,
            editable=regional, optional=c.get("id") in shipped_off, params=_criterion_params(i, c),
            options=options, summary=_criterion_summary(c)))
    return out


def _options_of(data: dict) -> dict:
    return {(c.get("id"), key): c[key] for c in data.get("criteria") or [] if isinstance(c, dict)
            for key in RULE_OPTIONS.get(c.get("kind"), ()) if key in c}


def rule_form_base(tier: str, in_force: dict) -> dict:
    """The rule set the settings form starts from: the one in force; for a national tier, the shipped
    national rules with the options in force (national thresholds are never edited here)."""
    from crm.ladder.engine import REGIONAL_TIERS, shipped_ruleset_dicts

    if tier in REGIONAL_TIERS:
        return _copy.deepcopy(in_force)
    base = shipped_ruleset_dicts()[tier]
    options = _options_of(in_force)
    for c in base["criteria"]:
        for key in RULE_OPTIONS.get(c.get("kind"), ()):
            if (c.get("id"), key) in options:
                c[key] = options[(c.get("id"), key)]
    return base


def apply_rule_settings(tier: str, base: dict, values: dict) -> dict:
    """A new rule-set dict: `base` with what the settings form sent ({field name: value})."""
    new = _copy.deepcopy(base)
    for c in rule_criteria(tier, base):
        crit = new["criteria"][c.index]
        if c.editable:
            enabled = bool(values.get(c.enabled_name, c.enabled))
            if enabled != c.enabled or "enabled" in crit:
                crit["enabled"] = enabled
            label = {lang: values.get(c.label_name(lang), c.label[lang]) for lang in ("zh", "en")}
            if label != _texts(crit.get("label")):
                crit["label"] = label
            for p in c.params:
                if values.get(p.name) is not None:
                    target = crit
                    for step in p.path[:-1]:
                        target = target[step]
                    target[p.path[-1]] = p.stored(values[p.name])
        for o in c.options:
            if o.name in values:
                crit[o.key] = bool(values[o.name])
    return new


# ----- what changed between two rule-set dicts


def _diff_value(value):
    from crm.ladder.profile import to_decimal

    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | _Decimal):
        try:
            return plain_number(to_decimal(value))
        except ValueError:
            return str(value)
    if isinstance(value, list | tuple) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(_diff_value(v)) for v in value)
    return _json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _flatten(value, prefix: str, out: dict) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, item in enumerate(value):
            _flatten(item, f"{prefix}[{i}]", out)
    else:
        out[prefix] = _diff_value(value)


def _flat_ruleset(data: dict) -> tuple[dict, list]:
    data = dict(data or {})
    data.pop("version", None)
    if isinstance(data.get("id"), str):
        data["id"] = shipped_ruleset_id(data["id"])
    criteria = data.pop("criteria", None) or []
    out: dict = {}
    _flatten(data, "", out)
    order = []
    for i, c in enumerate(criteria):
        if not isinstance(c, dict):
            out[f"criteria[{i}]"] = _diff_value(c)
            continue
        c = dict(c)
        c.setdefault("enabled", True)
        cid = str(c.get("id") or f"criteria[{i}]")
        order.append(cid)
        _flatten(c, cid, out)
    return out, order


def ruleset_diff(old: dict, new: dict) -> dict[str, list]:
    """What changed from `old` to `new`: {"lg_revenue.value": ["2000", "3000"], "dm_led_standard.enabled":
    [False, True], …}. Criteria are named by their id; numbers are plain text; the version number and the
    local suffix of the id are not changes."""
    a, order_a = _flat_ruleset(old)
    b, order_b = _flat_ruleset(new)
    changes: dict[str, list] = {}
    for key, value in b.items():
        if a.get(key, None) != value or key not in a:
            if key in a or value is not None:
                changes[key] = [a.get(key), value]
    for key, value in a.items():
        if key not in b:
            changes[key] = [value, None]
    common_a = [cid for cid in order_a if cid in order_b]
    common_b = [cid for cid in order_b if cid in order_a]
    if common_a != common_b:
        changes["criteria.order"] = [", ".join(order_a), ", ".join(order_b)]
    return changes


def _criterion_of_key(key: str, criteria: list) -> tuple[dict | None, str]:
    for c in criteria:
        cid = str(c.get("id", ""))
        if key == cid or key.startswith(cid + ".") or key.startswith(cid + "["):
            return c, key[len(cid):].lstrip(".")
    return None, key


def describe_changes(changes: dict, old: dict, new: dict) -> list[dict]:
    """The changes as rows for a page: the criterion (id and label), the setting, old and new as read."""
    lang = _data_lang()
    criteria = [c for c in (new.get("criteria") or []) + (old.get("criteria") or []) if isinstance(c, dict)]
    rows = []
    for key, (before, after) in changes.items():
        c, rest = _criterion_of_key(key, criteria)
        percent = (c is not None and c.get("kind") in ("ratio", "cagr")
                   and rest.rsplit(".", 1)[-1] in ("value", "min"))

        def read(value, percent=percent):
            if value is None:
                return "—"
            if isinstance(value, bool):
                return _("Yes") if value else _("No")
            if percent:
                try:
                    return f"{plain_number(_Decimal(value) * 100)}%"
                except ArithmeticError:
                    return str(value)
            return str(value)

        rows.append({"key": key, "criterion": c.get("id") if c else None,
                     "label": _texts(c.get("label")).get(lang, "") if c else "",
                     "setting": rest if c else key, "old": read(before), "new": read(after)})
    return rows


def relabel_warnings(changes: dict, new: dict) -> list[str]:
    """Criteria whose thresholds changed while their names did not (names often quote the number)."""
    out = []
    for c in new.get("criteria") or []:
        cid = str(c.get("id", ""))
        keys = [k for k in changes if k.startswith(cid + ".") or k.startswith(cid + "[")]
        numeric = [k for k in keys if _re.split(r"[.\]]", k)[-1] in _NUMERIC_KEYS]
        if numeric and not any(k.startswith(cid + ".label") for k in keys) and (cid + ".id") not in changes:
            out.append(cid)
    return out


# ----- errors in plain words

_ENGINE_WORDS = [
    (r"required", _l("required, but missing")),
    (r"unknown key", _l("not a known setting (check the spelling)")),
    (r"not a (finite )?number", _l("must be a number")),
    (r"must not be negative", _l("must not be negative")),
    (r"not a whole number ≥ 0", _l("must be a whole number, 0 or more")),
    (r"not true or false", _l("must be true or false")),
    (r"not a non-empty string", _l("must be a text that is not empty")),
    (r"not a list", _l("must be a list [ … ]")),
    (r"must not be empty", _l("must not be empty")),
    (r"not an object", _l("must be an object { … }")),
    (r"unknown kind (?P<kind>.*) \(known: (?P<known>.*)\)", _l("unknown kind %(kind)s (known kinds: %(known)s)")),
    (r"(?P<value>.*) is not one of (?P<options>.*)", _l("%(value)s is not one of: %(options)s")),
    (r"a share of a whole must be below 1 \(got (?P<value>.*)\)",
     _l("a share of a whole must be below 100%% (got %(value)s)")),
    (r"'?(?P<id>[^']*)'? appears twice", _l("the criterion id %(id)s appears twice")),
    (r"less than min_days", _l("must not be less than min_days")),
    (r"limits must rise", _l("the band limits must rise from one band to the next")),
]


def explain_ruleset_error(exc: Exception, data=None) -> str:
    """A RuleSetError ("criteria[2].value: must not be negative") in plain words, naming the criterion."""
    text = str(exc)
    path, _sep, problem = text.partition(": ")
    if not _sep:
        path, problem = "", text
    for pattern, words in _ENGINE_WORDS:
        m = _re.fullmatch(pattern, problem)
        if m:
            problem = str(words) % m.groupdict() if m.groupdict() else str(words)
            break
    where = path or _("the rule set")
    m = _re.match(r"criteria\[(\d+)\](.*)", path)
    if m:
        i = int(m.group(1))
        crit = None
        if isinstance(data, dict) and isinstance(data.get("criteria"), list) and i < len(data["criteria"]):
            crit = data["criteria"][i]
        cid = crit.get("id") if isinstance(crit, dict) and isinstance(crit.get("id"), str) else None
        where = (_("criterion %(n)s (%(id)s)", n=i + 1, id=cid) if cid else _("criterion %(n)s", n=i + 1))
        rest = m.group(2).lstrip(".")
        if rest:
            where = f"{where} › {rest}"
    return _("%(where)s: %(problem)s [%(path)s]", where=where, problem=problem, path=path or "—")


def parse_ruleset_json(text: str) -> dict:
    """An admin's pasted rule set: JSON whose numbers read back exactly (or ValidationFailed, in plain words)."""
    def no_repeats(pairs):
        seen = {}
        for key, value in pairs:
            if key in seen:
                raise ValueError(key)
            seen[key] = value
        return seen

    try:
        data = _json.loads(text, parse_float=_Decimal, object_pairs_hook=no_repeats)
    except _json.JSONDecodeError as exc:
        raise ValidationFailed({"ruleset": [_l("This is not valid JSON: line %(line)s, column %(col)s (%(reason)s).",
                                               line=exc.lineno, col=exc.colno, reason=exc.msg)]}) from None
    except ValueError as exc:
        raise ValidationFailed({"ruleset": [_l("The key %(key)s appears twice in the same object.",
                                               key=str(exc))]}) from None
    if not isinstance(data, dict):
        raise ValidationFailed({"ruleset": [_l("The rule set must be one JSON object { … }.")]})

    def check(value, path):
        if isinstance(value, _Decimal) and value.is_finite() and _Decimal(repr(float(value))) != value:
            raise ValidationFailed({"ruleset": [_l("%(path)s: %(value)s has too many digits (at most 15).",
                                                   path=path, value=str(value))]})
        if isinstance(value, dict):
            for key, item in value.items():
                check(item, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                check(item, f"{path}[{i}]")
    check(data, "")
    return data


# ----- saving a version


def without_options(data: dict) -> dict:
    """A copy of a rule-set dict without its options (what national rules must keep as shipped)."""
    data = _copy.deepcopy(data)
    for c in data.get("criteria") or []:
        if isinstance(c, dict):
            for key in RULE_OPTIONS.get(c.get("kind"), ()):
                c.pop(key, None)
    return data


def stale_message(tier: str, based_on: int) -> str:
    """Why a form based on an older version is refused: who saved the newer one, and when."""
    from crm.core.i18n import fmt_datetime
    from crm.ladder import queries

    current = queries.current_ruleset_version(tier)
    row = queries.ruleset_version(tier, current) if current else None
    who = queries.user_names([row.created_by_id]).get(row.created_by_id, "—") if row else "—"
    return _("Someone else saved local version %(n)s of this rule set (%(who)s, %(when)s) after you opened this "
             "page, so your change was not saved. The page now shows version %(n)s: make your change again on it.",
             n=current, who=who, when=fmt_datetime(row.created_at) if row else "—")


def save_ruleset_version(tier: str, data: dict, note: str, *, actor, based_on: int | None = None,
                         action: str = "create"):
    """A new version of a tier's rule set, in force at once: validated by the engine, stamped
    "<id>+local" / version = previous + 1, audited with what changed. `based_on` is the version the
    admin's form showed: a newer one refuses the save. Flushes, never commits."""
    from crm.core.db import utcnow
    from crm.ladder import queries
    from crm.ladder.engine import REGIONAL_TIERS, TIERS, RuleSet, RuleSetError, shipped_ruleset_dicts
    from crm.ladder.models import RuleSetVersion

    if tier not in TIERS:
        raise ValidationFailed({"": [_l("Unknown tier.")]})
    note = (note or "").strip()
    if not note:
        raise ValidationFailed({"note": [_l("Say what changed and why.")]})
    if len(note) > 255:
        raise ValidationFailed({"note": [_l("At most %(max)d characters.", max=255)]})
    current_version, current = queries.ruleset_in_force(tier)
    if based_on is not None and based_on != current_version:
        raise ValidationFailed({"": [stale_message(tier, based_on)]})
    if not isinstance(data, dict):
        raise ValidationFailed({"ruleset": [_l("The rule set must be one JSON object { … }.")]})
    if data.get("tier") != tier:
        raise ValidationFailed({"ruleset": [_l("tier: this page edits %(tier)s; the rule set given is for %(other)s.",
                                               tier=tier, other=str(data.get("tier")))]})
    version = current_version + 1
    stamped = dict(data)
    base_id = stamped.get("id") if isinstance(stamped.get("id"), str) and stamped["id"].strip() else None
    stamped["id"] = shipped_ruleset_id(base_id or shipped_ruleset_dicts()[tier]["id"]) + LOCAL_RULESET_SUFFIX
    stamped["version"] = version
    try:
        new = RuleSet.from_dict(stamped).to_dict()
    except RuleSetError as exc:
        raise ValidationFailed({"ruleset": [explain_ruleset_error(exc, stamped)]}) from None
    if tier not in REGIONAL_TIERS:
        changed = ruleset_diff(without_options(shipped_ruleset_dicts()[tier]), without_options(new))
        changed.pop("id", None)
        if changed:
            raise ValidationFailed({"ruleset": [_l(
                "This tier follows national rules: only its options can be changed here, not %(what)s.",
                what=", ".join(list(changed)[:5]) + (" …" if len(changed) > 5 else ""))]})
    changes = ruleset_diff(current, new)
    if not changes:
        raise ValidationFailed({"": [_l("Nothing changed: this is the rule set already in force.")]})
    row = RuleSetVersion(tier=tier, version=version, data=new, note=note, created_by_id=getattr(actor, "id", None),
                         created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    audit.record(db.session, action, row, actor=actor, changes=changes, summary=f"{tier} {version}: {note}")
    return row


def restore_shipped_ruleset(tier: str, *, actor):
    """A new version whose rules are the shipped ones (the defaults of this release)."""
    from crm.ladder.engine import shipped_ruleset_dicts

    return save_ruleset_version(tier, shipped_ruleset_dicts()[tier], _("Restored the shipped defaults."),
                                actor=actor, action="restore")


def _rematch(enterprise_ids) -> None:
    """Re-match these enterprises against every policy and re-rank them for every tier in this unit of work
    (crm.policies.services, imported here, not at load time: crm.policies reads enterprises)."""
    from crm.policies.services import rematch_enterprises

    rematch_enterprises(enterprise_ids)
    rerank_enterprises(enterprise_ids)  # and the stored candidate ranks (below)


# --- the stored candidate ranks (candidate_ranks): every operating enterprise × tier, kept current -----------

RANK_CHUNK = 2000  # enterprises evaluated per batch: bounds the memory of a province-wide refresh
_ID_CHUNK = 900  # ids per IN (…) list (SQLite's variable limit, PostgreSQL's planner)


def refresh_ranks(enterprise_ids=None, *, today=None, texts: bool = True) -> int:
    """Re-evaluate these enterprises (None: every one) for every tier and replace their stored ranks (flushed; no
    audit: derived data, as the policy matches); returns the rows written. Enterprises that no longer operate
    lose their rows. `texts=False` stores the ranks without their gap texts (NULL: a bulk import's, filled by
    `refresh_stale_ranks`)."""
    from datetime import UTC, datetime

    from sqlalchemy import delete

    from crm.core.db import upsert
    from crm.enterprises.models import EnterpriseStatus
    from crm.ladder.engine import LANGS, ranks_of
    from crm.ladder.models import CandidateRank
    from crm.ladder.profile import parse_profile
    from crm.ladder.queries import active_rulesets, newest_ruleset_versions, profiles_of

    today = today or clock.today()
    db.session.flush()  # the caller's pending changes are what the engine must see
    table = CandidateRank.__table__
    operating = select(Enterprise).where(Enterprise.archived_at.is_(None),
                                         Enterprise.status == EnterpriseStatus.ACTIVE)
    if enterprise_ids is None:
        db.session.execute(delete(table))
        ids = list(db.session.scalars(operating.with_only_columns(Enterprise.id).order_by(Enterprise.id)))
    else:
        ids = sorted(set(enterprise_ids))
        for start in range(0, len(ids), _ID_CHUNK):
            db.session.execute(delete(table).where(table.c.enterprise_id.in_(ids[start:start + _ID_CHUNK])))
    if not ids:
        return 0
    rulesets = active_rulesets()
    versions = {tier: row.version for tier, row in newest_ruleset_versions().items()}
    now = datetime.now(UTC)
    written = 0
    for start in range(0, len(ids), RANK_CHUNK):
        chunk = ids[start:start + RANK_CHUNK]
        known = {id(o) for o in db.session.identity_map.values()}
        enterprises = []
        for at in range(0, len(chunk), _ID_CHUNK):
            enterprises += db.session.scalars(operating.where(Enterprise.id.in_(chunk[at:at + _ID_CHUNK]))).all()
        rows = []
        profiles = profiles_of(enterprises, today)
        held = _held_tiers([e.id for e in enterprises], today)
        for e in enterprises:
            # with the gap texts the pool's page shows, in both languages (or NULL, without)
            for tier, verdict, (verdict_rank, failing, gaps, unknown), *shown in ranks_of(
                    parse_profile(profiles[e.id]), rulesets, texts=LANGS if texts else ()):
                rows.append({"enterprise_id": e.id, "tier": tier, "verdict": verdict, "verdict_rank": verdict_rank,
                             "failing": failing, "gap_total": gaps, "unknown": unknown, "name": e.name,
                             "region_id": e.region_id, "holds": (e.id, tier) in held,
                             "ruleset_version": versions.get(tier, 0), "gaps": shown[0] if shown else None,
                             "computed_on": today, "computed_at": now})
        if rows:
            upsert(db.session, table, rows, ("tier", "enterprise_id"))
            written += len(rows)
        for e in enterprises:  # a province's worth of enterprises would otherwise stay in the identity map
            if id(e) not in known:
                db.session.expunge(e)
    return written


def _held_tiers(enterprise_ids: list[int], day: date) -> set[tuple[int, str]]:
    """(enterprise id, tier) of the valid certifications on `day` (one query per 900)."""
    held: set[tuple[int, str]] = set()
    for start in range(0, len(enterprise_ids), _ID_CHUNK):
        held.update(db.session.execute(select(Certification.enterprise_id, Certification.tier).where(
            Certification.enterprise_id.in_(enterprise_ids[start:start + _ID_CHUNK]),
            Certification.status == CertificationStatus.ACTIVE, Certification.issued_on <= day,
            (Certification.expires_on.is_(None)) | (Certification.expires_on >= day))).all())
    return held


# A re-rank of more enterprises than this (an import's) stores the ranks without their gap texts: writing the
# texts in two languages cost a 50,000-row import a third of its speed, and the 5-minute job fills them
# (`refresh_stale_ranks`) while the pool's page evaluates the 50 rows it shows that have none.
INLINE_TEXTS = 500
# enterprises whose missing texts one run of the 5-minute job fills (about 25 s on PostgreSQL): a 50,000-row
# import is filled within half an hour, and no run holds the scheduler long
TEXT_FILL = 10_000

# the services' hook: re-rank now, or once at the end of a `ranks_deferred()` block (an import)
_reranks = DeferrableRefresh("candidate_ranks_deferred",
                             lambda ids: refresh_ranks(ids, texts=len(ids) <= INLINE_TEXTS))


def rerank_enterprises(enterprise_ids) -> None:
    """The hook of the enterprise and ladder services: re-rank these enterprises now, or at the end of the
    enclosing `ranks_deferred()` block (an import)."""
    _reranks.request(enterprise_ids)


def ranks_deferred():
    """Collect the enterprises the services touch inside the block and re-rank them in one batch when it ends
    without an error (an import of 10,000 rows: one refresh, not 10,000)."""
    return _reranks.deferred()


def refresh_stale_ranks(*, today=None) -> int:
    """Rank the operating enterprises that have no stored rank for a tier or one computed under an older rule-set
    version, and up to TEXT_FILL of those ranked without their gap texts; drop the rows of enterprises that no
    longer operate; returns the rows written."""
    from sqlalchemy import delete

    from crm.ladder.models import CandidateRank
    from crm.ladder.queries import missing_ranks, operating_ids, untexted_ranks

    table = CandidateRank.__table__
    db.session.execute(delete(table).where(table.c.enterprise_id.not_in(operating_ids())))
    ids = set(missing_ranks(operating_ids())) | set(untexted_ranks(TEXT_FILL))
    return refresh_ranks(ids, today=today) if ids else 0
