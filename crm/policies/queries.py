"""Reads of the policy catalogue: the searchable list, how often visits cited each policy, the visit form's choices."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Select, func, or_, select

from crm.enterprises.models import Enterprise
from crm.enterprises.queries import scope_enterprises
from crm.extensions import db
from crm.policies.models import Policy

# The list's state filter: which policies it shows ("active" unless asked otherwise).
STATES = ("active", "inactive", "all")


@dataclass(frozen=True)
class PolicyFilter:
    """The list's search text (title or document no.) and state filter."""

    q: str = ""
    state: str = "active"

    @property
    def narrowed(self) -> bool:
        """Whether the filter hides some policies (the empty state then says so)."""
        return bool(self.q) or self.state != "all"


def parse_filter(args) -> PolicyFilter:
    """The filter from a query string; unknown values fall back to the defaults."""
    state = args.get("state", "active")
    return PolicyFilter(q=args.get("q", "").strip()[:100], state=state if state in STATES else "active")


def policy_list(f: PolicyFilter) -> Select:
    """Policies matching the filter: active ones first, then by title."""
    stmt = select(Policy)
    if f.q:
        stmt = stmt.where(or_(Policy.title.icontains(f.q, autoescape=True),
                              Policy.document_no.icontains(f.q, autoescape=True)))
    if f.state == "active":
        stmt = stmt.where(Policy.active.is_(True))
    elif f.state == "inactive":
        stmt = stmt.where(Policy.active.is_(False))
    return stmt.order_by(Policy.active.desc(), Policy.title, Policy.id)


def citation_counts(user, policy_ids: list[int]) -> dict[int, int]:
    """{policy id: visits that cited it}, counting only visits to enterprises in `user`'s scope; one query."""
    from crm.service.models import Visit, visit_policies

    if not policy_ids:
        return {}
    stmt = (select(visit_policies.c.policy_id, func.count())
            .join(Visit, Visit.id == visit_policies.c.visit_id)
            .join(Enterprise, Enterprise.id == Visit.enterprise_id)
            .where(visit_policies.c.policy_id.in_(policy_ids))
            .group_by(visit_policies.c.policy_id))
    return dict(db.session.execute(scope_enterprises(stmt, user)).all())


def active_policies() -> list[Policy]:
    """The policies an officer may cite on a visit, by title."""
    return list(db.session.scalars(select(Policy).where(Policy.active.is_(True)).order_by(Policy.title, Policy.id)))


# --- eligibility (the ladder's engine, on the policy's conditions) ------------------------------------------

# The conditions a manager states in the form, each turned into one of the engine's criteria.
CONDITION_FIELDS = ("tiers_held", "min_age_years", "min_revenue", "max_revenue", "min_rd_ratio",
                    "min_tech_staff_ratio", "clean_record", "resident")


def criteria_of(conditions: dict) -> list[dict]:
    """The engine's criteria for a policy's conditions (bilingual labels; unset conditions are left out)."""
    from crm.ladder.tiers import TIER_LABELS

    c = conditions or {}
    out: list[dict] = []

    def texts(zh: str, en: str) -> dict:
        return {"zh": zh, "en": en}

    if c.get("tiers_held"):
        names_zh = "、".join(str(TIER_LABELS[t]) for t in c["tiers_held"] if t in TIER_LABELS)
        out.append({"id": "p_tier", "kind": "base_tier", "any_of": list(c["tiers_held"]),
                    "label": texts(f"持有有效资质：{names_zh}", "Holds a valid certification: "
                                   + ", ".join(c["tiers_held"]))})
    if c.get("min_age_years"):
        years = int(c["min_age_years"])
        out.append({"id": "p_age", "kind": "age_days", "min_days": 365 * years,
                    "label": texts(f"成立满 {years} 年", f"Operating for at least {years} years")})
    for key, op, zh, en in (("min_revenue", ">=", "上年度营业收入不低于", "Revenue at least"),
                            ("max_revenue", "<=", "上年度营业收入不超过", "Revenue at most")):
        if c.get(key) not in (None, ""):
            value = float(c[key])
            out.append({"id": f"p_{key}", "kind": "metric", "field": "revenue", "year": "latest", "op": op,
                        "value": value, "unit": "万元",
                        "label": texts(f"{zh} {c[key]} 万元", f"{en} {c[key]} (10k CNY, latest year)")})
    for key, numerator, denominator, zh, en in (
            ("min_rd_ratio", "rd_expense", "revenue", "研发费用占营业收入比例不低于", "R&D expense / revenue at least"),
            ("min_tech_staff_ratio", "tech_staff", "employees", "科技人员占职工总数比例不低于",
             "Tech staff / employees at least")):
        if c.get(key) not in (None, ""):
            pct = float(c[key])
            out.append({"id": f"p_{key}", "kind": "ratio", "numerator": numerator, "denominator": denominator,
                        "years": "latest", "op": ">=", "value": pct / 100,
                        "label": texts(f"{zh} {c[key]}%", f"{en} {c[key]}%")})
    for flag, zh, en in (("clean_record", "无严重失信等不良记录", "No serious breach of trust on record"),
                         ("resident", "在本地区注册的居民企业", "A resident enterprise registered here")):
        if c.get(flag):
            out.append({"id": f"p_{flag}", "kind": "flag", "flag": flag, "expected": True, "label": texts(zh, en)})
    return out


def ruleset_of(policy: Policy):
    """The policy's conditions as a rule set the ladder's engine evaluates (subject "policy")."""
    from crm.ladder.engine import POLICY_SUBJECT, RuleSet

    return RuleSet.from_dict({
        "id": f"policy-{policy.id}", "version": policy.conditions_version, "tier": POLICY_SUBJECT,
        "label": {"zh": policy.title, "en": policy.title}, "criteria": criteria_of(policy.conditions)})


@dataclass
class Match:
    """One enterprise against one policy: its verdict, what is missing or failing, where its push stands."""

    enterprise: Enterprise
    verdict: str  # ready (eligible), incomplete (might be: data missing), not_ready
    reasons: list[str]
    status: str  # "" not informed, informed, applied, granted, not_granted
    amount: object = None


@dataclass
class Matching:
    """A policy matched against the enterprises in a user's scope, and the three rates."""

    eligible: list[Match]
    maybe: list[Match]
    not_eligible: int

    def count(self, *statuses: str) -> int:
        """Eligible enterprises whose push is at any of `statuses`."""
        return sum(1 for m in self.eligible if m.status in statuses)

    @property
    def informed(self) -> int:
        """Eligible and told (informed or further)."""
        return self.count("informed", "applied", "granted", "not_granted")

    @property
    def applied(self) -> int:
        """Eligible and applied (or decided)."""
        return self.count("applied", "granted", "not_granted")

    @property
    def granted(self) -> int:
        """Eligible and granted."""
        return self.count("granted")

    @property
    def amount(self):
        """Total granted (万元)."""
        from decimal import Decimal

        return sum((m.amount or Decimal(0) for m in self.eligible if m.status == "granted"), Decimal(0))

    @staticmethod
    def rate(part: int, whole: int):
        """part ÷ whole as a percentage with one decimal (None when whole is 0)."""
        from decimal import Decimal

        return (Decimal(part * 100) / whole).quantize(Decimal("0.1")) if whole else None


def match(policy: Policy, user, today=None, lang: str = "zh") -> Matching:
    """Every operating enterprise in `user`'s scope against the policy, read from the stored verdicts (missing
    ones computed first, see `ensure_matches`): three queries and the pairs the policy's page lists."""
    from sqlalchemy import and_

    from crm.policies.models import PolicyMatch, PolicyPush

    scoped = operating(scope_enterprises(select(Enterprise.id), user))
    ensure_matches([policy.id], scoped, today)
    m = PolicyMatch
    base = operating(scope_enterprises(select(Enterprise).join(m, m.enterprise_id == Enterprise.id), user)).where(
        m.policy_id == policy.id)
    rows = db.session.execute(
        base.add_columns(m.verdict, m.missing, PolicyPush.status, PolicyPush.amount)
        .outerjoin(PolicyPush, and_(PolicyPush.policy_id == m.policy_id, PolicyPush.enterprise_id == Enterprise.id))
        .where(m.verdict.in_(("ready", "incomplete"))).order_by(Enterprise.name, Enterprise.id)).all()
    not_eligible = db.session.scalar(base.with_only_columns(func.count()).where(m.verdict == "not_ready"))
    labels = criterion_labels(policy, lang)
    eligible, maybe = [], []
    for e, verdict, missing, status, amount in rows:
        if verdict == "ready":
            eligible.append(Match(e, "ready", [], status or "", amount))
        else:
            maybe.append(Match(e, "incomplete", [labels.get(i, i) for i in missing or []], status or "", amount))
    return Matching(eligible, maybe, not_eligible or 0)


def criterion_labels(policy: Policy, lang: str = "zh") -> dict[str, str]:
    """{criterion id: its label in `lang`} of the policy's conditions (the stored "missing" are ids)."""
    return {c["id"]: c["label"].get(lang) or c["label"]["zh"] for c in criteria_of(policy.conditions)}


# --- every policy against many enterprises at once (the jobs, the rates, the enterprise page) ---------------

TOLD = ("informed", "applied", "granted", "not_granted")
APPLIED = ("applied", "granted", "not_granted")


def operating(stmt: Select) -> Select:
    """Only enterprises that operate (not archived, status active): the ones a policy is pushed to."""
    from crm.enterprises.models import EnterpriseStatus

    return stmt.where(Enterprise.archived_at.is_(None), Enterprise.status == EnterpriseStatus.ACTIVE)


def verdicts(policies: list[Policy], enterprises: list[Enterprise], today=None,
             lang: str = "zh", *, reasons_as: str = "label") -> dict[int, dict[int, tuple[str, list[str]]]]:
    """{policy id: {enterprise id: (verdict, what is unknown)}} with one profile per enterprise and one
    evaluator: the profiles are read in bulk (a constant number of queries), each rule set compiled once.

    This is the on-demand evaluation; pages and jobs read its stored copy (policy_matches, see `missing_matches`
    and crm.policies.services `refresh_matches`, which calls this with reasons_as="id")."""
    import json

    from crm.core import clock
    from crm.ladder.profile import parse_profile
    from crm.ladder.queries import profiles_of

    today = today or clock.today()
    if not policies or not enterprises:
        return {p.id: {} for p in policies}
    # Policies stating the same conditions (often: "holds 高企") share one evaluation per enterprise.
    by_conditions: dict[str, list[int]] = {}
    rulesets = {}
    for p in policies:
        key = json.dumps(p.conditions or {}, sort_keys=True, default=str)
        if key not in by_conditions:
            rulesets[key] = ruleset_of(p)
        by_conditions.setdefault(key, []).append(p.id)
    out: dict[int, dict[int, tuple[str, list[str]]]] = {p.id: {} for p in policies}
    for eid, raw in profiles_of(enterprises, today).items():
        profile = parse_profile(raw)
        for key, ruleset in rulesets.items():
            # the verdict and the undecided criteria only (no entries, no texts): the same as evaluate()'s
            verdict, undecided = ruleset.verdict(profile)
            reasons = ([c.id if reasons_as == "id" else c.label[lang] for c in undecided]
                       if verdict == "incomplete" else [])
            for pid in by_conditions[key]:
                out[pid][eid] = (verdict, reasons)
    return out


def missing_matches(policy_ids, enterprise_ids) -> set[tuple[int, int]]:
    """(policy id, enterprise id) of these policies × these enterprises (a select of ids, or a list) with no stored
    verdict for the policy's current conditions version (one query when none is missing, two otherwise)."""
    from sqlalchemy import and_, exists, func, true

    from crm.policies.models import PolicyMatch

    policy_ids = list(policy_ids)
    if not policy_ids:
        return set()
    m = PolicyMatch.__table__
    if not isinstance(enterprise_ids, list | tuple | set):
        enterprise_ids = enterprise_ids.order_by(None)
    # Usually nothing is missing: the current verdicts of these pairs are counted first (an officer's 186
    # enterprises x 35 policies: 4 ms at province scale, against 50 ms for the pairs' NOT EXISTS below); the
    # unique (policy, enterprise) makes the counts equal exactly when every pair is there.
    stored_count = (select(func.count()).select_from(m)
                    .join(Policy, and_(Policy.id == m.c.policy_id, Policy.conditions_version == m.c.conditions_version))
                    .where(m.c.policy_id.in_(policy_ids), m.c.enterprise_id.in_(enterprise_ids)))
    pairs = (select(func.count(Policy.id)).where(Policy.id.in_(policy_ids)).scalar_subquery()
             * select(func.count(Enterprise.id)).where(Enterprise.id.in_(enterprise_ids)).scalar_subquery())
    stored_n, pairs_n = db.session.execute(select(stored_count.scalar_subquery(), pairs)).one()
    if stored_n == pairs_n:
        return set()
    # NOT EXISTS, not an anti-join: PostgreSQL hashed the whole table for the LEFT JOIN (2,000,000 rows at
    # province scale, 245 ms on the workbench) where index probes for the few pairs asked for take 55 ms
    stored = exists().where(m.c.policy_id == Policy.id, m.c.enterprise_id == Enterprise.id,
                            m.c.conditions_version == Policy.conditions_version)
    stmt = (select(Policy.id, Enterprise.id).select_from(Enterprise).join(Policy, true())
            .where(Policy.id.in_(policy_ids), Enterprise.id.in_(enterprise_ids), ~stored))
    return {(p, e) for p, e in db.session.execute(stmt)}


def ensure_matches(policy_ids, enterprise_ids, today=None) -> int:
    """Complete the stored verdicts of these policies × enterprises before a reader's grouped SQL runs.

    The pairs missing (a policy or an enterprise added since the last refresh by a path that has no hook, rows
    left by an older version of the conditions) are computed in this request by the same batch refresh and
    flushed into its transaction, so every reader sees complete, current data; a GET does not commit them (the
    5-minute job `policies.refresh_stale_matches` stores them for good). When nothing is missing this costs one
    query."""
    from crm.policies.services import fill_missing

    return fill_missing(missing_matches(policy_ids, enterprise_ids), today=today)


def push_states(policy_ids: list[int], enterprise_ids: list[int] | None = None) -> dict[tuple[int, int], tuple]:
    """{(policy id, enterprise id): (status, amount)} of the pushes of these policies (one query)."""
    from crm.policies.models import PolicyPush

    if not policy_ids:
        return {}
    stmt = select(PolicyPush.policy_id, PolicyPush.enterprise_id, PolicyPush.status, PolicyPush.amount).where(
        PolicyPush.policy_id.in_(policy_ids))
    if enterprise_ids is not None:
        if not enterprise_ids:
            return {}
        if len(enterprise_ids) <= 900:
            stmt = stmt.where(PolicyPush.enterprise_id.in_(enterprise_ids))
    return {(p, e): (s, a) for p, e, s, a in db.session.execute(stmt)}


def open_policies(today, *, within_days: int = 0) -> list[Policy]:
    """Active policies whose window is open on `today` (or opens within `within_days`), by closing date."""
    stmt = select(Policy).where(Policy.active.is_(True),
                                or_(Policy.closes_on.is_(None), Policy.closes_on >= today))
    if within_days:
        from datetime import timedelta

        stmt = stmt.where(or_(Policy.opens_on.is_(None), Policy.opens_on <= today + timedelta(days=within_days)))
    else:
        stmt = stmt.where(or_(Policy.opens_on.is_(None), Policy.opens_on <= today))
    return list(db.session.scalars(stmt.order_by(Policy.closes_on.is_(None), Policy.closes_on, Policy.title,
                                                 Policy.id)))


@dataclass
class ToTell:
    """A policy whose window is open, how many of the officer's eligible enterprises were not told yet, and the
    first of them by name."""

    policy: Policy
    total: int
    enterprises: list  # rows with .id and .name, at most TO_TELL_SHOWN


TO_TELL_SHOWN = 8


def to_tell(user, today=None) -> list[ToTell]:
    """The workbench's "policies to tell your enterprises about": open windows × the enterprises `user` serves
    that qualify and were not informed, from the stored verdicts: a count and the first few names per policy,
    ranked in SQL (an officer of 170 enterprises × 35 open policies would otherwise load thousands of rows)."""
    from sqlalchemy import and_, func

    from crm.core import clock
    from crm.policies.models import PolicyMatch, PolicyPush
    from crm.service.queries import my_enterprises

    today = today or clock.today()
    policies = open_policies(today)
    if not policies:
        return []
    # the ids first: as a subquery SQLite planned it from every active enterprise (100 ms at province scale)
    mine = list(db.session.scalars(operating(my_enterprises(user)).with_only_columns(Enterprise.id).order_by(None)))
    if not mine:
        return []
    ensure_matches([p.id for p in policies], mine, today)
    m = PolicyMatch
    pairs = (select(m.policy_id, Enterprise.id, Enterprise.name,
                    func.row_number().over(partition_by=m.policy_id, order_by=(Enterprise.name, Enterprise.id))
                    .label("n"),
                    func.count().over(partition_by=m.policy_id).label("total"))
             .join(Enterprise, Enterprise.id == m.enterprise_id)
             .outerjoin(PolicyPush, and_(PolicyPush.policy_id == m.policy_id,
                                         PolicyPush.enterprise_id == m.enterprise_id))
             .where(m.policy_id.in_([p.id for p in policies]), m.verdict == "ready", PolicyPush.id.is_(None),
                    Enterprise.id.in_(mine))).subquery()
    rows = db.session.execute(select(pairs).where(pairs.c.n <= TO_TELL_SHOWN)
                              .order_by(pairs.c.policy_id, pairs.c.n)).all()
    found: dict[int, ToTell] = {}
    by_id = {p.id: p for p in policies}
    for row in rows:
        entry = found.setdefault(row.policy_id, ToTell(by_id[row.policy_id], row.total, []))
        entry.enterprises.append(row)
    return [found[p.id] for p in policies if p.id in found]


def eligible_served(policy_ids: list[int], today=None) -> dict[int, list[tuple[int, str, str]]]:
    """{policy id: [(officer id, enterprise name, push status or "")]} of the eligible operating enterprises that
    have a current officer, by name, from the stored verdicts (the window job; a constant number of queries)."""
    from sqlalchemy import and_

    from crm.policies.models import PolicyMatch, PolicyPush
    from crm.service.models import Assignment

    if not policy_ids:
        return {}
    served = operating(select(Enterprise.id).join(Assignment, and_(Assignment.enterprise_id == Enterprise.id,
                                                                   Assignment.ends_on.is_(None))))
    ensure_matches(policy_ids, served, today)
    m = PolicyMatch
    out: dict[int, list[tuple[int, str, str]]] = {}
    for policy_id, officer_id, name, status in db.session.execute(operating(
            select(m.policy_id, Assignment.officer_id, Enterprise.name, PolicyPush.status).select_from(m)
            .join(Enterprise, Enterprise.id == m.enterprise_id)
            .join(Assignment, and_(Assignment.enterprise_id == Enterprise.id, Assignment.ends_on.is_(None)))
            .outerjoin(PolicyPush, and_(PolicyPush.policy_id == m.policy_id, PolicyPush.enterprise_id == m.enterprise_id))
            .where(m.policy_id.in_(policy_ids), m.verdict == "ready")).order_by(Enterprise.name, Enterprise.id)):
        out.setdefault(policy_id, []).append((officer_id, name, status or ""))
    return out


@dataclass
class PolicyOf:
    """One policy as it stands for one enterprise: its verdict, what is unknown, the push."""

    policy: Policy
    verdict: str
    reasons: list[str]
    status: str
    amount: object = None


def policies_of(enterprise: Enterprise, today=None, lang: str = "zh", *, include_closed: bool = True) -> list[PolicyOf]:
    """The active policies the enterprise qualifies for (eligible first) or might (data missing), with the push."""
    from crm.core import clock

    today = today or clock.today()
    policies = list(db.session.scalars(select(Policy).where(Policy.active.is_(True)).order_by(Policy.title, Policy.id)))
    if not include_closed:
        policies = [p for p in policies if p.window_state(today) != "closed"]
    pushes = push_states([p.id for p in policies], [enterprise.id])
    out = []
    if not db.session.scalar(operating(select(func.count()).select_from(Enterprise)).where(
            Enterprise.id == enterprise.id)):
        # no stored rows for an enterprise that does not operate: evaluated on demand, as its page still shows it
        found = verdicts(policies, [enterprise], today, lang)
        stored = {p.id: found[p.id][enterprise.id] for p in policies}
    else:
        from crm.policies.models import PolicyMatch

        ensure_matches([p.id for p in policies], [enterprise.id], today)
        by_id = {p.id: p for p in policies}
        stored = {pid: (verdict, [criterion_labels(by_id[pid], lang).get(i, i) for i in missing or []])
                  for pid, verdict, missing in db.session.execute(
                      select(PolicyMatch.policy_id, PolicyMatch.verdict, PolicyMatch.missing).where(
                          PolicyMatch.enterprise_id == enterprise.id, PolicyMatch.policy_id.in_(list(by_id)),
                          PolicyMatch.verdict.in_(("ready", "incomplete"))))}
    for policy in policies:
        verdict, reasons = stored.get(policy.id, ("not_ready", []))
        status, amount = pushes.get((policy.id, enterprise.id), ("", None))
        if verdict in ("ready", "incomplete"):
            out.append(PolicyOf(policy, verdict, reasons, status, amount))
    out.sort(key=lambda r: (r.verdict != "ready", r.policy.title))
    return out


# --- the three rates per policy, region and officer (知晓率、申报率、享受率) ------------------------------------

GROUPINGS = ("policy", "region", "officer")
# what a number of the report counts; "not_informed" is eligible minus informed (the drill-down a manager wants)
MEASURES = ("eligible", "not_informed", "informed", "applied", "granted")


@dataclass
class Pair:
    """One eligible enterprise × policy of the report, with its push, sub-region and officer."""

    policy: Policy
    enterprise: Enterprise
    region_id: int | None  # the sub-region of the reader's region the enterprise lies in
    officer_id: int | None  # its current officer
    status: str
    amount: object = None

    def counts_in(self, measure: str) -> bool:
        """Whether this pair is one of the enterprises behind `measure`'s number."""
        return {"eligible": True, "not_informed": self.status == "", "informed": self.status in TOLD,
                "applied": self.status in APPLIED, "granted": self.status == "granted"}[measure]


@dataclass
class Tally:
    """Eligible, informed, applied, granted and the amount granted; the three rates off them."""

    eligible: int = 0
    informed: int = 0
    applied: int = 0
    granted: int = 0
    amount: object = None

    def add(self, pair: Pair) -> None:
        """Count one eligible pair."""
        from decimal import Decimal

        self.eligible += 1
        self.informed += pair.status in TOLD
        self.applied += pair.status in APPLIED
        if pair.status == "granted":
            self.granted += 1
            self.amount = (self.amount or Decimal(0)) + (pair.amount or Decimal(0))

    @property
    def not_informed(self) -> int:
        """Eligible and not told yet."""
        return self.eligible - self.informed

    @property
    def awareness(self):
        """知晓率: informed ÷ eligible (%)."""
        return Matching.rate(self.informed, self.eligible)

    @property
    def application(self):
        """申报率: applied ÷ informed (%)."""
        return Matching.rate(self.applied, self.informed)

    @property
    def benefit(self):
        """享受率: granted ÷ applied (%)."""
        return Matching.rate(self.granted, self.applied)


@dataclass
class RateRow:
    """One row of the report: what it groups (a policy, a sub-region, an officer) and its tally."""

    key: str  # the drill-down's filter value ("" for "no officer")
    label: str
    tally: Tally


class RateReport:
    """The rates grouped one way and the total; the eligible pairs behind them (drill-down, export) are read
    only when asked for (the rates page does not need them)."""

    def __init__(self, by: str, rows: list[RateRow], total: Tally, user=None, policy_id: int | None = None,
                 today=None):
        self.by, self.rows, self.total = by, rows, total
        self._args = (user, policy_id, today)

    @cached_property
    def _detail(self) -> tuple[list, dict, dict]:
        return eligible_pairs(*self._args)

    @property
    def pairs(self) -> list[Pair]:
        """Every eligible pair of the report (one query for them, two for the officers and regions named)."""
        return self._detail[0]

    @property
    def officers(self) -> dict:
        """{officer id: user} named by the pairs."""
        return self._detail[1]

    @property
    def regions(self) -> dict:
        """{sub-region id: region} named by the pairs."""
        return self._detail[2]


def _sub_region(path: str, base_id: int | None) -> int | None:
    """The id of the child of `base_id` on a region path "/1/5/9/" (the root when base is None; base itself
    when the enterprise sits in the base region directly)."""
    ids = [int(i) for i in path.strip("/").split("/") if i]
    if base_id is None:
        return ids[0] if ids else None
    if base_id in ids:
        at = ids.index(base_id)
        return ids[at + 1] if at + 1 < len(ids) else base_id
    return None


def _report_policies(policy_id: int | None) -> list[Policy]:
    stmt = select(Policy).where(Policy.active.is_(True))
    if policy_id is not None:
        stmt = select(Policy).where(Policy.id == policy_id)
    return list(db.session.scalars(stmt.order_by(Policy.title, Policy.id)))


def _eligible(user, policy_ids: list[int], today, *columns) -> Select:
    """The stored eligible pairs of these policies in `user`'s scope (operating enterprises) joined to their
    push and current officer, selecting `columns`; the missing verdicts are computed first."""
    from sqlalchemy import and_

    from crm.policies.models import PolicyMatch, PolicyPush
    from crm.service.models import Assignment

    ensure_matches(policy_ids, operating(scope_enterprises(select(Enterprise.id), user)), today)
    m = PolicyMatch
    stmt = (select(*columns).select_from(m).join(Enterprise, Enterprise.id == m.enterprise_id)
            .outerjoin(PolicyPush, and_(PolicyPush.policy_id == m.policy_id, PolicyPush.enterprise_id == m.enterprise_id))
            .outerjoin(Assignment, and_(Assignment.enterprise_id == m.enterprise_id, Assignment.ends_on.is_(None)))
            .where(m.policy_id.in_(policy_ids), m.verdict == "ready"))
    return operating(scope_enterprises(stmt, user))


def _regions_named(ids) -> dict:
    from crm.enterprises.models import Region

    ids = {i for i in ids if i}
    return {r.id: r for r in db.session.scalars(select(Region).where(Region.id.in_(ids)))}  # even none: constant


def eligible_pairs(user, policy_id: int | None = None, today=None, *, measure: str = "",
                   officer: str = "") -> tuple[list[Pair], dict, dict]:
    """Every eligible enterprise × active policy in `user`'s scope with its push, sub-region and officer, and the
    officers and regions they name, read from the stored verdicts: a constant number of queries whatever the size
    of the registry. `measure` and `officer` (the drill-down's filters, as text) narrow it in SQL."""
    from sqlalchemy.orm import contains_eager

    from crm.auth.models import User
    from crm.enterprises.models import Region
    from crm.policies.models import PolicyMatch, PolicyPush
    from crm.service.models import Assignment

    policies = {p.id: p for p in _report_policies(policy_id)}
    if not policies:
        return [], {}, {}
    stmt = _eligible(user, list(policies), today, PolicyMatch.policy_id, Enterprise, Assignment.officer_id,
                     PolicyPush.status, PolicyPush.amount)
    status = PolicyPush.status
    if measure == "not_informed":
        stmt = stmt.where(status.is_(None))
    elif measure in ("informed", "applied"):
        stmt = stmt.where(status.in_(TOLD if measure == "informed" else APPLIED))
    elif measure == "granted":
        stmt = stmt.where(status == "granted")
    if officer == "none":
        stmt = stmt.where(Assignment.officer_id.is_(None))
    elif officer.isascii() and officer.isdigit():
        stmt = stmt.where(Assignment.officer_id == int(officer))
    stmt = stmt.join(Region, Region.id == Enterprise.region_id).options(contains_eager(Enterprise.region)).order_by(
        Policy.title, Policy.id, Enterprise.name, Enterprise.id).join(Policy, Policy.id == PolicyMatch.policy_id)
    base = user.region_id if getattr(user, "region_id", None) else None
    pairs = [Pair(policies[pid], e, _sub_region(e.region.path, base), officer_id, status or "", amount)
             for pid, e, officer_id, status, amount in db.session.execute(stmt)]
    officer_ids = {p.officer_id for p in pairs if p.officer_id}
    officers = ({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(officer_ids)))}
                if officer_ids else {})
    return pairs, officers, _regions_named(p.region_id for p in pairs)


def rate_report(user, by: str = "policy", policy_id: int | None = None, today=None) -> RateReport:
    """The three rates and the amount granted grouped by policy, sub-region or officer, with the total: one grouped
    query over the stored verdicts (plus the policies, the missing-verdicts check and the labels)."""
    from decimal import Decimal

    from sqlalchemy import case

    from crm.auth.models import User
    from crm.enterprises.models import Region
    from crm.policies.models import PolicyMatch, PolicyPush
    from crm.service.models import Assignment

    by = by if by in GROUPINGS else "policy"
    policies = {p.id: p for p in _report_policies(policy_id)}
    report = RateReport(by, [], Tally(), user, policy_id, today)
    if not policies:
        return report
    status = PolicyPush.status
    key = {"policy": PolicyMatch.policy_id, "region": Region.path, "officer": Assignment.officer_id}[by]
    counts = [func.count(), func.sum(case((status.in_(TOLD), 1), else_=0)),
              func.sum(case((status.in_(APPLIED), 1), else_=0)), func.sum(case((status == "granted", 1), else_=0)),
              func.sum(case((status == "granted", func.coalesce(PolicyPush.amount, 0))))]
    stmt = _eligible(user, list(policies), today, key, *counts)
    if by == "region":
        stmt = stmt.join(Region, Region.id == Enterprise.region_id)
    grouped = db.session.execute(stmt.group_by(key)).all()
    base = user.region_id if getattr(user, "region_id", None) else None
    if by == "region":  # grouped by the enterprises' own regions: folded into the reader's sub-regions
        grouped = [(_sub_region(path, base), *rest) for path, *rest in grouped]
        names = _regions_named(k for k, *_ in grouped)
    elif by == "officer":
        ids = {k for k, *_ in grouped if k}
        names = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}  # even none: constant
    groups: dict = {}
    labels: dict = {}
    for k, eligible, informed, applied, granted, amount in grouped:
        if by == "policy":
            key_text, label = str(k), policies[k].title
        elif by == "region":
            key_text, label = str(k or ""), names[k].name if k in names else "—"
        else:
            key_text, label = (str(k), names[k].name) if k in names else ("none", None)
        amount = None if amount is None else Decimal(str(amount)).quantize(Decimal("0.01"))
        for tally in (groups.setdefault(key_text, Tally()), report.total):
            tally.eligible += eligible
            tally.informed += informed or 0
            tally.applied += applied or 0
            tally.granted += granted or 0
            if amount is not None:
                tally.amount = (tally.amount or Decimal(0)) + amount
        labels[key_text] = label
    report.rows = [RateRow(k, labels[k], tally) for k, tally in groups.items()]
    report.rows.sort(key=lambda r: (r.label is None, r.label or "", r.key))
    return report


def drill(pairs: list[Pair], measure: str, *, policy: str = "", region: str = "", officer: str = "") -> list[Pair]:
    """The pairs behind one number of the report (filters as text, the way the links carry them)."""
    measure = measure if measure in MEASURES else "eligible"
    out = []
    for pair in pairs:
        if policy and str(pair.policy.id) != policy:
            continue
        if region and str(pair.region_id or "") != region:
            continue
        if officer and (str(pair.officer_id) if pair.officer_id else "none") != officer:
            continue
        if pair.counts_in(measure):
            out.append(pair)
    return out


# --- innovation points (企业创新积分) and the high_tech reserve pool (后备库) ------------------------------------

POINTS_FILE = "innovation_points.json"
POOL_TIER = "high_tech"


def points_model():
    """The innovation-points model (data shipped with the app), compiled by the ladder's engine."""
    import json
    from pathlib import Path

    from crm.ladder.engine import ScoreModel

    return ScoreModel.from_dict(json.loads((Path(__file__).parent / POINTS_FILE).read_text(encoding="utf-8")))


def indicator_labels(lang: str = "zh") -> dict[str, str]:
    """{indicator: its label} of the points model, in `lang`."""
    import json
    from pathlib import Path

    data = json.loads((Path(__file__).parent / POINTS_FILE).read_text(encoding="utf-8"))
    return {i["indicator"]: i["label"][lang] for i in data["indicators"]}


@dataclass
class Ranked:
    """One enterprise of the ranking: its points, their parts, its rank, whether it is in the pool."""

    enterprise: Enterprise
    total: object
    parts: list
    missing: list
    rank: int = 0
    entry: object = None  # its ReservePoolEntry, if in the pool
    officer_id: int | None = None  # its current officer (the suggested coach)


def ranking(user, region_id: int | None = None, today=None) -> list[Ranked]:
    """Operating enterprises in `user`'s scope (and region) not holding a valid high_tech certificate, by points.

    Ties: equal points share a rank (1, 1, 3, …) and are listed by name, then id, so that "the top N" is the same
    list every time. A constant number of queries (the profiles in bulk, the pool, the officers)."""
    from crm.core import clock
    from crm.enterprises.queries import subtree_ids
    from crm.ladder.profile import parse_profile
    from crm.ladder.queries import profiles_of
    from crm.policies.models import ReservePoolEntry
    from crm.service.models import Assignment

    today = today or clock.today()
    stmt = operating(scope_enterprises(select(Enterprise), user))
    if region_id is not None:
        stmt = stmt.where(Enterprise.region_id.in_(subtree_ids(region_id)))
    enterprises = list(db.session.scalars(stmt.order_by(Enterprise.name, Enterprise.id)))
    model = points_model()
    profiles = profiles_of(enterprises, today)
    entries = {e.enterprise_id: e for e in db.session.scalars(select(ReservePoolEntry).where(
        ReservePoolEntry.tier == POOL_TIER, ReservePoolEntry.enterprise_id.in_(stmt.with_only_columns(Enterprise.id))))}
    officers = dict(db.session.execute(select(Assignment.enterprise_id, Assignment.officer_id).where(
        Assignment.ends_on.is_(None), Assignment.enterprise_id.in_(stmt.with_only_columns(Enterprise.id)))).all())
    out = []
    for e in enterprises:
        profile = parse_profile(profiles[e.id])
        held = {c.tier for c in (profile.certifications or ()) if c.valid_on(today)}
        if POOL_TIER in held:
            continue
        s = model.score(profile)
        out.append(Ranked(e, s["total"], s["parts"], s["missing"], entry=entries.get(e.id),
                          officer_id=officers.get(e.id)))
    out.sort(key=lambda r: (-r.total, r.enterprise.name, r.enterprise.id))
    previous, rank = None, 0
    for position, row in enumerate(out, start=1):
        if row.total != previous:
            rank, previous = position, row.total
        row.rank = rank
    return out


def pool_entries(user) -> list:
    """The reserve pool in `user`'s scope, best points first (with the enterprise and the coach)."""
    from sqlalchemy.orm import joinedload

    from crm.policies.models import ReservePoolEntry

    stmt = (select(ReservePoolEntry).join(Enterprise, Enterprise.id == ReservePoolEntry.enterprise_id)
            .where(ReservePoolEntry.tier == POOL_TIER))
    return list(db.session.scalars(scope_enterprises(stmt, user).options(
        joinedload(ReservePoolEntry.enterprise), joinedload(ReservePoolEntry.officer)).order_by(
        ReservePoolEntry.points.desc(), Enterprise.name, ReservePoolEntry.id)))


# --- A/B/C/D grading (亩均效益综合评价) ------------------------------------------------------------------------

GRADING_FILE = "grading.json"


def grading_model():
    """The grading model (data shipped with the app: indicators, weights, bands, A/B/C cut-offs)."""
    import json
    from pathlib import Path

    from crm.ladder.engine import ScoreModel

    return ScoreModel.from_dict(json.loads((Path(__file__).parent / GRADING_FILE).read_text(encoding="utf-8")))


def _grading_population(path: str, levels: dict[int, str]) -> int | None:
    """The region an enterprise is graded among: its county (区县), or its own region above county level."""
    ids = [int(i) for i in path.strip("/").split("/") if i]
    counties = [i for i in ids if levels.get(i) == "county"]
    return counties[-1] if counties else (ids[-1] if ids else None)


def compute_grades(today=None) -> tuple[int, list[tuple[int, object, str]]]:
    """(year, [(enterprise id, score, grade)]) for every operating enterprise with the model's figures for the
    latest accounting year; shares are taken within each county. Ungraded: a figure the model needs is missing."""
    from sqlalchemy.orm import joinedload

    from crm.core import clock
    from crm.enterprises.models import AnnualFigures, Region
    from crm.ladder.engine import grade_scores
    from crm.ladder.profile import parse_profile
    from crm.ladder.queries import profiles_of

    today = today or clock.today()
    year = today.year - 1
    model = grading_model()
    enterprises = list(db.session.scalars(operating(select(Enterprise)).options(joinedload(Enterprise.region))
                                          .order_by(Enterprise.id)))
    extra = {eid: {"tax_paid": t, "land_mu": land, "energy_tce": en} for eid, t, land, en in db.session.execute(
        select(AnnualFigures.enterprise_id, AnnualFigures.tax_paid, AnnualFigures.land_mu, AnnualFigures.energy_tce)
        .where(AnnualFigures.year == year))}
    levels = dict(db.session.execute(select(Region.id, Region.level)).all())
    with_extra = [e for e in enterprises if e.id in extra]
    profiles = profiles_of(with_extra, today)
    populations: dict = {}
    for e in with_extra:
        s = model.score(parse_profile(profiles[e.id]), extra[e.id])
        if not s["missing"]:
            populations.setdefault(_grading_population(e.region.path, levels), {})[e.id] = s["total"]
    out = []
    for scores in populations.values():
        grades = grade_scores(scores, model.grades)
        out.extend((eid, scores[eid], grades[eid]) for eid in scores)
    return year, sorted(out)


def latest_grade_year() -> int | None:
    """The newest year graded."""
    from sqlalchemy import func as f

    from crm.policies.models import EnterpriseGrade

    return db.session.scalar(select(f.max(EnterpriseGrade.year)))


def grade_of(enterprise: Enterprise):
    """The enterprise's newest grade row, or None."""
    from crm.policies.models import EnterpriseGrade

    return db.session.scalar(select(EnterpriseGrade).where(EnterpriseGrade.enterprise_id == enterprise.id)
                             .order_by(EnterpriseGrade.year.desc()).limit(1))


def graded_ids(grade: str) -> Select:
    """Ids of the enterprises with `grade` in the newest graded year (the registry's filter)."""
    from crm.policies.models import EnterpriseGrade

    newest = select(func.max(EnterpriseGrade.year)).scalar_subquery()
    return select(EnterpriseGrade.enterprise_id).where(EnterpriseGrade.grade == grade, EnterpriseGrade.year == newest)


def grade_counts(region_id: int | None) -> dict[str, int]:
    """{grade: enterprises} of the newest graded year in a region subtree (None: everywhere); one query."""
    from crm.enterprises.queries import subtree_ids
    from crm.policies.models import EnterpriseGrade

    newest = select(func.max(EnterpriseGrade.year)).scalar_subquery()
    stmt = (select(EnterpriseGrade.grade, func.count()).join(Enterprise, Enterprise.id == EnterpriseGrade.enterprise_id)
            .where(EnterpriseGrade.year == newest, Enterprise.archived_at.is_(None)).group_by(EnterpriseGrade.grade))
    if region_id is not None:
        stmt = stmt.where(Enterprise.region_id.in_(subtree_ids(region_id)))
    counts = dict(db.session.execute(stmt).all())
    return {g: counts.get(g, 0) for g in ("A", "B", "C", "D")}
