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
    FLAG_FIELDS,
    JUDGEMENT_FIELDS,
    Certification,
    CertificationStatus,
    ReadinessInputs,
    TierEvent,
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

    # The newest version's time too: ids restart when a table is emptied (tests), times do not.
    key = db.session.execute(select(func.count(), func.max(RuleSetVersion.id), func.max(RuleSetVersion.created_at))
                             .select_from(RuleSetVersion)).one()
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


def _pool_select(user, tier: str, region_id: int | None, officer: str, day: date):
    """select(Enterprise) of the pool: in `user`'s scope, operating, not holding `tier` on `day`, filtered."""
    from crm.enterprises.models import EnterpriseStatus
    from crm.enterprises.queries import scope_enterprises, subtree_ids

    holders = (select(Certification.enterprise_id)
               .where(Certification.tier == tier, Certification.status == CertificationStatus.ACTIVE,
                      Certification.issued_on <= day,
                      (Certification.expires_on.is_(None)) | (Certification.expires_on >= day)))
    stmt = scope_enterprises(select(Enterprise), user).where(
        Enterprise.archived_at.is_(None), Enterprise.status == EnterpriseStatus.ACTIVE,
        Enterprise.id.not_in(holders))
    if region_id:
        stmt = stmt.where(Enterprise.region_id.in_(subtree_ids(region_id)))
    if officer:
        from crm.service.queries import filter_by_officer

        stmt = filter_by_officer(stmt, officer)
    return stmt


def candidate_pool(user, tier: str, *, region_id: int | None = None, day: date | None = None,
                   lang: str = "zh", officer: str = "", gaps: bool = True) -> list[Candidate]:
    """Enterprises in `user`'s scope not holding `tier` now, closest to it first (engine.rank_key), evaluated now
    (the whole pool: exports, batches of sheets, the forecast; a page reads the stored ranks, `candidate_page`).

    Profiles are built with a constant number of queries per 900 enterprises; only the rank
    key and a few gap texts are kept per enterprise (keeping every result dict halves the speed).
    `officer`: "" any, an officer's id (as text) their current enterprises, "none" the unassigned. Without `gaps`
    each is only judged (engine.RuleSet.rank: the same verdicts, counts and order, no gap texts; the forecast).
    """
    from sqlalchemy.orm import joinedload

    from crm.ladder.engine import evaluate, rank_key
    from crm.ladder.profile import parse_profile

    day = day or clock.today()
    stmt = _pool_select(user, tier, region_id, officer, day).options(joinedload(Enterprise.region))
    enterprises = list(db.session.scalars(stmt))
    rulesets = active_rulesets()
    ranked = []
    ruleset = rulesets[tier]
    for enterprise_id, data in profiles_of(enterprises, day).items():
        if not gaps:
            verdict, key = ruleset.rank(parse_profile(data), rulesets)
            ranked.append((key, enterprise_id, verdict, key[1], key[3], []))
            continue
        result = evaluate(parse_profile(data), tier, rulesets, lang=lang)
        failing = [c for c in result["criteria"] if c["status"] == "fail"]
        unknown = sum(1 for c in result["criteria"] if c["status"] in ("unknown", "borderline"))
        ranked.append((rank_key(result), enterprise_id, result["verdict"], len(failing), unknown,
                       [c["gap"]["text"] for c in failing[:3]]))
    by_id = {e.id: e for e in enterprises}
    ranked.sort(key=lambda row: (row[0], by_id[row[1]].name))
    return [Candidate(i + 1, by_id[eid], verdict, nfail, nunknown, gaps, key)
            for i, (key, eid, verdict, nfail, nunknown, gaps) in enumerate(ranked)]


VERDICTS = ("ready", "incomplete", "not_ready")


def operating_ids():
    """A select of the ids of the enterprises that operate (not archived, status active)."""
    from crm.enterprises.models import EnterpriseStatus

    return select(Enterprise.id).where(Enterprise.archived_at.is_(None), Enterprise.status == EnterpriseStatus.ACTIVE)


def missing_ranks(enterprise_ids, tier: str | None = None) -> list[int]:
    """Ids among `enterprise_ids` (a select of ids, or a list) with no stored rank for `tier` (None: for some
    tier) under the rule set in force (one query per tier)."""
    from sqlalchemy import exists

    from crm.ladder.models import CandidateRank

    r = CandidateRank.__table__
    versions = {t: row.version for t, row in newest_ruleset_versions().items()}
    found: set[int] = set()
    for t in ([tier] if tier else list(Tier)):
        # NOT EXISTS: index probes per enterprise asked for (as policy_matches), not a hash of the whole table
        stored = exists().where(r.c.tier == t, r.c.enterprise_id == Enterprise.id,
                                r.c.ruleset_version == versions.get(t, 0))
        found.update(db.session.scalars(select(Enterprise.id).where(Enterprise.id.in_(enterprise_ids), ~stored)))
    return sorted(found)


def untexted_ranks(limit: int) -> list[int]:
    """Ids of up to `limit` enterprises with a stored rank that has no gap texts (a bulk import's; read from the
    partial index ix_candidate_ranks_untexted)."""
    from sqlalchemy import literal_column

    from crm.ladder.models import UNTEXTED_SQL, CandidateRank

    r = CandidateRank.__table__
    # the condition as the index states it, so that the planners use the index
    return list(db.session.scalars(select(r.c.enterprise_id).where(literal_column(UNTEXTED_SQL)).distinct()
                                   .order_by(r.c.enterprise_id).limit(limit)))


def _rank_scope(user, region_id: int | None, officer: str) -> list:
    """The candidate_ranks conditions of `user`'s scope and the pool's filters (crm.enterprises.queries'
    scope_enterprises, on the region stored with each rank)."""
    from sqlalchemy import false

    from crm.core.policy import Role
    from crm.enterprises.queries import subtree_ids
    from crm.ladder.models import CandidateRank as r

    if user is None or not user.is_authenticated or not user.is_active:
        return [false()]
    where = []
    if user.role in (Role.MANAGER, Role.OFFICER) and user.region_id:
        where.append(r.region_id.in_(subtree_ids(user.region_id)))
    elif user.role != Role.ADMIN:
        return [false()]
    if region_id:
        where.append(r.region_id.in_(subtree_ids(region_id)))
    if officer:
        from crm.service.models import Assignment
        from crm.service.queries import UNASSIGNED

        current = select(Assignment.enterprise_id).where(Assignment.ends_on.is_(None))
        where.append(r.enterprise_id.not_in(current) if officer == UNASSIGNED else
                     r.enterprise_id.in_(current.where(Assignment.officer_id == int(officer))))
    return where


def candidate_page(user, tier: str, *, region_id: int | None = None, day: date | None = None, lang: str = "zh",
                   officer: str = ""):
    """(the requested page of 50 Candidates, {verdict: count}) of the pool, read from the stored ranks alone.

    The ranks in scope are counted by verdict (an index-only read) and compared with the operating enterprises
    in scope: when some have no rank under the rule set in force (a path without a hook, a new rule-set version)
    a few are ranked in this request first, and many (a new rule set, a fresh database) make the page evaluate
    the pool live as `candidate_pool`, until the 5-minute job has stored them. The gap texts of the 50 rows
    shown are stored with the ranks in both languages (rows stored without them are evaluated now)."""
    from sqlalchemy import delete, func
    from sqlalchemy.orm import joinedload

    from crm.core.web import ListPage, list_page
    from crm.ladder.models import CandidateRank as r
    from crm.ladder.profile import parse_profile
    from crm.ladder.services import refresh_ranks

    day = day or clock.today()
    version = current_ruleset_version(tier)
    where = [r.tier == tier, r.ruleset_version == version, *_rank_scope(user, region_id, officer)]

    def counted() -> tuple[dict, int]:
        counts, ranked = dict.fromkeys(VERDICTS, 0), 0
        for verdict, holds, n in db.session.execute(
                select(r.verdict, r.holds, func.count()).where(*where).group_by(r.verdict, r.holds)):
            ranked += n
            if not holds:
                counts[verdict] += n
        return counts, ranked

    counts, ranked = counted()
    scoped = _scoped_operating(user, region_id, officer)
    operating = db.session.scalar(scoped.with_only_columns(func.count()).order_by(None))
    if ranked != operating:
        # ranks left by enterprises that stopped operating through a path without a hook go first
        db.session.execute(delete(r).where(r.enterprise_id.in_(
            select(Enterprise.id).where(~Enterprise.id.in_(operating_ids())))))
        missing = missing_ranks(scoped.with_only_columns(Enterprise.id), tier)
        if len(missing) > _CHUNK:
            live = candidate_pool(user, tier, region_id=region_id, day=day, lang=lang, officer=officer)
            return list_page(live), {v: sum(1 for c in live if c.verdict == v) for v in VERDICTS}
        if missing:
            refresh_ranks(missing, today=day)
        counts, ranked = counted()
    page = ListPage.counted(sum(counts.values()))
    ranks = db.session.scalars(
        select(r).where(*where, r.holds.is_(False))
        .order_by(r.verdict_rank, r.failing, r.gap_total, r.unknown, r.name, r.enterprise_id)
        .offset(page.first_index).limit(page.per_page)).all()
    enterprises = {e.id: e for e in db.session.scalars(
        select(Enterprise).options(joinedload(Enterprise.region))
        .where(Enterprise.id.in_([rank.enterprise_id for rank in ranks])))}
    shown = [(enterprises[rank.enterprise_id], rank) for rank in ranks if rank.enterprise_id in enterprises]
    # the gap texts stored with the ranks; rows stored before they were kept are evaluated now
    texts = {rank.enterprise_id: rank.gaps[lang] for _e, rank in shown if rank.gaps and lang in rank.gaps}
    unstored = [e for e, rank in shown if rank.enterprise_id not in texts]
    if unstored:
        rulesets = active_rulesets()
        for eid, data in profiles_of(unstored, day).items():
            texts[eid] = rulesets[tier].gap_texts(parse_profile(data), lang, rulesets)
    items = []
    for i, (e, rank) in enumerate(shown):
        items.append(Candidate(page.first_index + i + 1, e, rank.verdict, rank.failing, rank.unknown, texts[e.id],
                               (rank.verdict_rank, rank.failing, rank.gap_total, rank.unknown)))
    page.items = items
    return page, counts


def _scoped_operating(user, region_id: int | None, officer: str):
    """select(Enterprise) of the operating enterprises in `user`'s scope and the pool's filters (holders too)."""
    from sqlalchemy import literal_column

    from crm.enterprises.models import EnterpriseStatus
    from crm.enterprises.queries import scope_enterprises, subtree_ids

    # the status as a literal: the planners use the partial index ix_enterprises_operating_region (counted from the
    # index alone) only for a condition they can match to its own, which a bound parameter is not
    stmt = scope_enterprises(select(Enterprise), user).where(
        Enterprise.archived_at.is_(None), Enterprise.status == literal_column(f"'{EnterpriseStatus.ACTIVE.value}'"))
    if region_id:
        stmt = stmt.where(Enterprise.region_id.in_(subtree_ids(region_id)))
    if officer:
        from crm.service.queries import filter_by_officer

        stmt = filter_by_officer(stmt, officer)
    return stmt


# --- the readiness panel and its what-if ---------------------------------------------------

# What an officer may add in a what-if, in the form's order: amounts of the latest year (万元), people, IP items.
WHATIF_FIELDS = ("rd_expense", "tech_staff", "hightech_revenue", "revenue", "ip_class1", "ip_class2")
# A figure added in a what-if and the figures of the same year that grow with it (when known).
_WHATIF_ALSO = {"rd_expense": ("rd_expense_domestic",), "tech_staff": ("employees",),
                "hightech_revenue": ("revenue", "total_income"), "revenue": ("total_income",)}
# The IP kind a what-if adds for each class (class II items counted as not used before).
_WHATIF_IP_KIND = {"ip_class1": "invention_patent", "ip_class2": "utility_model"}


@dataclass
class WhatIfChange:
    """One addition of a what-if; `applied` is False when the year has no such figure to add to."""

    field: str
    amount: object
    year: int | None
    applied: bool


def apply_additions(profile, additions: dict) -> tuple:
    """A new profile with the what-if's additions (pure; the profile given is unchanged), and the changes.

    Amounts and people are added to the latest year's figures, together with the figures that grow with
    them (R&D → domestic R&D; tech staff → employees; high-tech revenue → revenue and total income;
    revenue → total income), each only where it is known: an unknown figure stays unknown. IP items are
    added as valid items of class I / class II not used in an earlier application.
    """
    from dataclasses import replace

    from crm.ladder.profile import IPHolding

    year = profile.latest_year
    row = profile.figures_for(year)
    values: dict = {}
    ip = list(profile.ip or ())
    changes = []
    for name in WHATIF_FIELDS:
        amount = additions.get(name)
        if not amount:
            continue
        if name in _WHATIF_IP_KIND:
            if profile.ip is not None:
                ip.append(IPHolding(kind=_WHATIF_IP_KIND[name], count=int(amount), used_in_earlier_application=0))
            changes.append(WhatIfChange(name, amount, None, profile.ip is not None))
            continue
        base = values.get(name, getattr(row, name) if row is not None else None)
        if base is None:
            changes.append(WhatIfChange(name, amount, year, False))
            continue
        values[name] = base + amount
        for other in _WHATIF_ALSO.get(name, ()):
            current = values.get(other, getattr(row, other))
            if current is not None:
                values[other] = current + amount
        changes.append(WhatIfChange(name, amount, year, True))
    figures = profile.figures
    if values:
        figures = tuple(replace(r, **values) if r.year == year else r for r in figures)
    changed = replace(profile, figures=figures, ip=None if profile.ip is None else tuple(ip))
    return changed, changes


@dataclass
class ReadinessPanel:
    """What the readiness panel shows: the result of one tier, what is missing, and a what-if's changes."""

    enterprise: Enterprise
    tier: str
    next_tier: str | None
    result: dict
    missing: list
    profile: object
    figure_ids: dict
    before: dict | None = None  # the result on the saved data, when a what-if was applied
    changes: list | None = None

    @property
    def latest_year(self) -> int:
        """The year the figures of a what-if are added to."""
        return self.profile.latest_year

    @property
    def status_before(self) -> dict:
        """{criterion id: its status on the saved data} for the criteria a what-if changed."""
        if self.before is None:
            return {}
        old = {c["id"]: c["status"] for c in self.before["criteria"]}
        return {c["id"]: old[c["id"]] for c in self.result["criteria"]
                if c["id"] in old and old[c["id"]] != c["status"]}

    @property
    def judgement_missing(self) -> list[str]:
        """The 高企 judgement items not entered yet, when this tier's score reads them."""
        details = (self.result.get("score") or {}).get("details") or {}
        if not any(name in details for name in JUDGEMENT_FIELDS):
            return []
        return [name for name in JUDGEMENT_FIELDS if getattr(self.profile.judgement, name) is None]


def readiness_panel(enterprise: Enterprise, tier: str, *, lang: str = "zh", additions: dict | None = None,
                    day: date | None = None) -> ReadinessPanel:
    """The readiness of `enterprise` for `tier` (a what-if's additions applied when given; nothing is saved).

    Queries: the profile's four and the rule sets' one, plus one for the figure rows' ids when figures of a
    year are missing; the engine evaluates in memory.
    """
    from crm.ladder.engine import BORDERLINE, UNKNOWN, evaluate, missing_data
    from crm.ladder.profile import parse_profile

    profile = parse_profile(profile_of(enterprise, day))
    rulesets = active_rulesets()
    result = evaluate(profile, tier, rulesets, lang=lang)
    before = changes = None
    if additions:
        changed, changes = apply_additions(profile, additions)
        if any(c.applied for c in changes):
            before, profile = result, changed
            result = evaluate(profile, tier, rulesets, lang=lang)
    missing = []
    if any(c["status"] in (UNKNOWN, BORDERLINE) for c in result["criteria"]):
        missing = missing_data(profile, tier, rulesets, lang=lang)
    figure_ids = {}
    if any(m["year"] is not None for m in missing):
        figure_ids = dict(db.session.execute(select(AnnualFigures.year, AnnualFigures.id)
                                             .where(AnnualFigures.enterprise_id == enterprise.id)).all())
    return ReadinessPanel(enterprise, tier, next_tier_after(enterprise.current_tier), result, missing, profile,
                          figure_ids, before, changes)


# --- rule settings (the admins' versions of the rule sets) -----------------------------------


def ruleset_versions(tier: str) -> list:
    """The admins' versions of a tier's rule set, newest first."""
    from crm.ladder.models import RuleSetVersion

    return list(db.session.scalars(select(RuleSetVersion).where(RuleSetVersion.tier == tier)
                                   .order_by(RuleSetVersion.version.desc())))


def ruleset_version(tier: str, version: int):
    """One admin version of a tier's rule set, or None."""
    from crm.ladder.models import RuleSetVersion

    return db.session.scalar(select(RuleSetVersion).where(RuleSetVersion.tier == tier,
                                                          RuleSetVersion.version == version))


def current_ruleset_version(tier: str) -> int:
    """The number of the admin version in force (0: the shipped rule set is in force)."""
    from sqlalchemy import func

    from crm.ladder.models import RuleSetVersion

    return db.session.scalar(select(func.max(RuleSetVersion.version)).where(RuleSetVersion.tier == tier)) or 0


def newest_ruleset_versions() -> dict:
    """{tier: the admin version in force} for the tiers that have one."""
    from sqlalchemy import func

    from crm.ladder.models import RuleSetVersion

    newest = (select(RuleSetVersion.tier, func.max(RuleSetVersion.version).label("version"))
              .group_by(RuleSetVersion.tier).subquery())
    rows = db.session.scalars(select(RuleSetVersion).join(
        newest, (RuleSetVersion.tier == newest.c.tier) & (RuleSetVersion.version == newest.c.version)))
    return {row.tier: row for row in rows}


def ruleset_data(tier: str, version: int) -> dict | None:
    """The data of version `version` of a tier's rule set (0: the shipped rule set), or None."""
    from crm.ladder.engine import shipped_ruleset_dicts

    if version == 0:
        return shipped_ruleset_dicts().get(tier)
    row = ruleset_version(tier, version)
    return None if row is None else row.data


def ruleset_in_force(tier: str) -> tuple[int, dict]:
    """(version, data) of the rule set in force for a tier; version 0 is the shipped rule set."""
    from crm.ladder.engine import shipped_ruleset_dicts

    row = newest_ruleset_versions().get(tier)
    return (row.version, row.data) if row is not None else (0, shipped_ruleset_dicts()[tier])


def ruleset_of_result(result: dict):
    """The RuleSet a readiness result was computed with (to reproduce it), or None when it is not known here.

    An admin's version is named "<id>+local" with its local version number; a shipped one by its own id
    and version, found only while this release ships that very version.
    """
    from crm.ladder.display import is_local_ruleset
    from crm.ladder.engine import RuleSet, load_rulesets

    tier, ref = result.get("tier"), result.get("ruleset") or {}
    if is_local_ruleset(ref.get("id")):
        version = ref.get("version")
        row = ruleset_version(tier, version) if isinstance(version, int) else None
        return None if row is None else RuleSet.from_dict(row.data)
    shipped = load_rulesets().get(tier)
    if shipped is not None and (shipped.id, shipped.version) == (ref.get("id"), ref.get("version")):
        return shipped
    return None


def user_names(ids) -> dict[int, str]:
    """{user id: display name} for the authors of rule-set versions."""
    from crm.auth.models import User

    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.name or u.username for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}
