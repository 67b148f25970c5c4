"""Reads on the ladder: an enterprise's certifications and timeline, the ladder graphic's state."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from crm.core import clock
from crm.enterprises.models import AMOUNT_FIELDS, HEADCOUNT_FIELDS, AnnualFigures, Enterprise, IntellectualProperty
from crm.extensions import db
from crm.ladder.models import (
    FLAG_FIELDS, JUDGEMENT_FIELDS, Certification, CertificationStatus, ReadinessInputs, TierEvent,
)
from crm.ladder.tiers import Tier


@dataclass
class LadderState:
    """What the enterprise page shows of the ladder."""

    certifications: list[Certification]
    events: list[TierEvent]
    held: set[str]
    current: str | None
    next_tier: str | None
    today: date

    def step(self, tier: Tier) -> str:
        """'held', 'next' or '' for the ladder graphic."""
        if tier.value in self.held:
            return "held"
        return "next" if tier.value == self.next_tier else ""


def next_tier_after(current: str | None) -> str | None:
    """The tier above `current` (tech_sme for a candidate; None at the top)."""
    tiers = list(Tier)
    if current is None:
        return tiers[0].value
    index = tiers.index(Tier(current))
    return tiers[index + 1].value if index + 1 < len(tiers) else None


def ladder_state(enterprise: Enterprise) -> LadderState:
    """Certifications (newest first), the timeline and the graphic's state of one enterprise."""
    today = clock.today()
    certs = list(db.session.scalars(select(Certification).where(Certification.enterprise_id == enterprise.id)
                                    .order_by(Certification.issued_on.desc(), Certification.id.desc())))
    events = list(db.session.scalars(select(TierEvent).where(TierEvent.enterprise_id == enterprise.id)
                                     .order_by(TierEvent.occurred_on.desc(), TierEvent.id.desc())))
    held = {c.tier for c in certs if c.is_valid_on(today)}
    current = max(held, key=lambda t: Tier(t).order) if held else None
    return LadderState(certs, events, held, current, next_tier_after(current), today)


# --- readiness profiles (the engine's input, readiness-profile.md) ------------------------

_CHUNK = 900  # stay under SQLite's bound-parameter limit


def _conversions_last_3_years(enterprise: Enterprise, figures: list, day: date) -> int | None:
    """Sum of the last three complete years' conversions (fewer when younger); None when any is missing."""
    latest = day.year - 1
    first = latest - 2
    if enterprise.established_on is not None:
        first = max(first, enterprise.established_on.year)
    by_year = {f.year: f.conversions for f in figures}
    values = [by_year.get(year) for year in range(first, latest + 1)]
    if not values or any(v is None for v in values):
        return None
    return sum(values)


def profile_dict(enterprise: Enterprise, figures: list, ip_items: list, certifications: list, inputs, day: date) -> dict:
    """The readiness profile of an enterprise from its rows (ORM objects or plain rows; amounts as Decimal)."""
    ip_counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in ip_items:
        if item.is_valid:
            ip_counts[item.kind][0] += 1
            ip_counts[item.kind][1] += 1 if item.used_in_earlier_application else 0
    return {
        "name": enterprise.name,
        "uscc": enterprise.uscc,
        "established_on": enterprise.established_on.isoformat() if enterprise.established_on else None,
        "assessment_date": day.isoformat(),
        "tech_domain": enterprise.tech_domain,
        "figures": [
            {"year": f.year, **{name: getattr(f, name) for name in (*AMOUNT_FIELDS, *HEADCOUNT_FIELDS)}}
            for f in sorted(figures, key=lambda f: f.year)
        ],
        "ip": [
            {"kind": kind, "count": count, "used_in_earlier_application": used}
            for kind, (count, used) in sorted(ip_counts.items())
        ],
        "conversions_last_3_years": _conversions_last_3_years(enterprise, figures, day),
        "flags": {name: getattr(inputs, name, None) for name in FLAG_FIELDS},
        "judgement": {name: getattr(inputs, name, None) for name in JUDGEMENT_FIELDS},
        "certifications": [
            {"tier": c.tier, "issued_on": c.issued_on.isoformat(),
             "expires_on": c.expires_on.isoformat() if c.expires_on else None}
            for c in certifications if c.status != CertificationStatus.REVOKED
        ],
    }


def profile_of(enterprise: Enterprise, day: date | None = None) -> dict:
    """One enterprise's readiness profile (four queries)."""
    return profiles_of([enterprise], day)[enterprise.id]


def profiles_of(enterprises: list[Enterprise], day: date | None = None) -> dict[int, dict]:
    """Profiles of many enterprises with a constant number of queries per 900 enterprises."""
    day = day or clock.today()
    ids = [e.id for e in enterprises]
    rows: dict[str, dict[int, list]] = {"figures": defaultdict(list), "ip": defaultdict(list),
                                        "certs": defaultdict(list)}
    inputs: dict[int, ReadinessInputs] = {}
    # Plain rows, not ORM objects: building profiles for a whole province is then ~3× faster.
    tables = ((AnnualFigures, "figures"), (IntellectualProperty, "ip"), (Certification, "certs"))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        for model, key in tables:
            table = model.__table__
            for row in db.session.execute(select(table).where(table.c.enterprise_id.in_(chunk))):
                rows[key][row.enterprise_id].append(row)
        table = ReadinessInputs.__table__
        for row in db.session.execute(select(table).where(table.c.enterprise_id.in_(chunk))):
            inputs[row.enterprise_id] = row
    return {e.id: profile_dict(e, rows["figures"][e.id], rows["ip"][e.id], rows["certs"][e.id],
                               inputs.get(e.id), day) for e in enterprises}


# --- rule sets in force ------------------------------------------------------------------

_RULESET_CACHE: dict = {"key": None, "rulesets": None}


def ruleset_overrides() -> dict[str, dict]:
    """The newest admin version of each tier's rule set, as data ({tier: rule-set dict})."""
    from sqlalchemy import func

    from crm.ladder.models import RuleSetVersion

    newest = (select(RuleSetVersion.tier, func.max(RuleSetVersion.version).label("version"))
              .group_by(RuleSetVersion.tier).subquery())
    rows = db.session.scalars(select(RuleSetVersion).join(
        newest, (RuleSetVersion.tier == newest.c.tier) & (RuleSetVersion.version == newest.c.version)))
    return {row.tier: row.data for row in rows}


def active_rulesets():
    """The rule sets in force: shipped data plus the admins' newest versions (cached until one changes)."""
    from sqlalchemy import func

    from crm.ladder.engine import load_rulesets
    from crm.ladder.models import RuleSetVersion

    key = db.session.execute(select(func.count(), func.max(RuleSetVersion.id)).select_from(RuleSetVersion)).one()
    if _RULESET_CACHE["key"] != tuple(key):
        _RULESET_CACHE["rulesets"] = load_rulesets(ruleset_overrides() or None)
        _RULESET_CACHE["key"] = tuple(key)
    return _RULESET_CACHE["rulesets"]


# --- the candidate pool (培育库) ----------------------------------------------------------


@dataclass
class Candidate:
    """One ranked enterprise of the pool: what the list shows, not the whole result."""

    rank: int
    enterprise: Enterprise
    verdict: str
    failing: int
    unknown: int
    gaps: list[str]
    key: tuple


def candidate_pool(user, tier: str, *, region_id: int | None = None, day: date | None = None,
                   lang: str = "zh") -> list[Candidate]:
    """Enterprises in `user`'s scope not holding `tier` now, closest to it first (engine.rank_key).

    Profiles are built with a constant number of queries per 900 enterprises; only the rank
    key and a few gap texts are kept per enterprise (keeping every result dict halves the speed).
    """
    from sqlalchemy.orm import joinedload

    from crm.enterprises.models import EnterpriseStatus
    from crm.enterprises.queries import scope_enterprises, subtree_ids
    from crm.ladder.engine import evaluate, rank_key
    from crm.ladder.profile import parse_profile

    day = day or clock.today()
    holders = (select(Certification.enterprise_id)
               .where(Certification.tier == tier, Certification.status == CertificationStatus.ACTIVE,
                      Certification.issued_on <= day,
                      (Certification.expires_on.is_(None)) | (Certification.expires_on >= day)))
    stmt = scope_enterprises(select(Enterprise).options(joinedload(Enterprise.region)), user).where(
        Enterprise.archived_at.is_(None), Enterprise.status == EnterpriseStatus.ACTIVE,
        Enterprise.id.not_in(holders))
    if region_id:
        stmt = stmt.where(Enterprise.region_id.in_(subtree_ids(region_id)))
    enterprises = list(db.session.scalars(stmt))
    rulesets = active_rulesets()
    ranked = []
    for enterprise_id, data in profiles_of(enterprises, day).items():
        result = evaluate(parse_profile(data), tier, rulesets, lang=lang)
        failing = [c for c in result["criteria"] if c["status"] == "fail"]
        unknown = sum(1 for c in result["criteria"] if c["status"] in ("unknown", "borderline"))
        ranked.append((rank_key(result), enterprise_id, result["verdict"], len(failing), unknown,
                       [c["gap"]["text"] for c in failing[:3]]))
    by_id = {e.id: e for e in enterprises}
    ranked.sort(key=lambda row: (row[0], by_id[row[1]].name))
    return [Candidate(i + 1, by_id[eid], verdict, nfail, nunknown, gaps, key)
            for i, (key, eid, verdict, nfail, nunknown, gaps) in enumerate(ranked)]
