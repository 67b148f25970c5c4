"""Reads of the policy catalogue: the searchable list, how often visits cited each policy, the visit form's choices."""
from __future__ import annotations

from dataclasses import dataclass

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
    """Every operating enterprise in `user`'s scope against the policy (profiles in bulk, one evaluator)."""
    from crm.core import clock
    from crm.enterprises.models import EnterpriseStatus
    from crm.ladder.profile import parse_profile
    from crm.ladder.queries import profiles_of
    from crm.policies.models import PolicyPush

    today = today or clock.today()
    enterprises = list(db.session.scalars(scope_enterprises(select(Enterprise), user).where(
        Enterprise.archived_at.is_(None), Enterprise.status == EnterpriseStatus.ACTIVE).order_by(Enterprise.name)))
    pushes = {p.enterprise_id: p for p in db.session.scalars(
        select(PolicyPush).where(PolicyPush.policy_id == policy.id))}
    ruleset = ruleset_of(policy)
    eligible, maybe, not_eligible = [], [], 0
    profiles = profiles_of(enterprises, today)
    for e in enterprises:
        result = ruleset.evaluate(parse_profile(profiles[e.id]), lang)
        push = pushes.get(e.id)
        status, amount = (push.status, push.amount) if push else ("", None)
        if result["verdict"] == "ready":
            eligible.append(Match(e, "ready", [], status, amount))
        elif result["verdict"] == "incomplete":
            reasons = [c["label"] for c in result["criteria"] if c["status"] in ("unknown", "borderline")]
            maybe.append(Match(e, "incomplete", reasons, status, amount))
        else:
            not_eligible += 1
    return Matching(eligible, maybe, not_eligible)
