"""Demo data of the policy push: eligibility conditions, benefits and caps on the demo policies, a policy whose
window opens today (so the officers' notification and workbench list show), and the informed pushes the visits
left moved on to applied, granted (with an amount) or not granted. Idempotent: conditions are set only on a
policy that has none, a push moves only from "informed" to its (stable, seeded) destination."""
from __future__ import annotations

import zlib
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from crm.credit.queries import blocking_entries
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.policies import jobs, queries, services
from crm.policies.models import Policy, PolicyPush

# title → (conditions, benefit, cap in 万元)
TERMS = {
    "高新技术企业减按15%税率征收企业所得税": ({"tiers_held": ["high_tech"]}, "企业所得税减按15%征收", None),
    "企业研发费用税前加计扣除（100%）": ({"min_rd_ratio": "1"}, "研发费用按100%加计扣除", None),
    "科技型中小企业评价入库": ({"max_revenue": "20000", "min_tech_staff_ratio": "10"}, "取得入库登记编号", None),
    "宁夏企业研发投入后补助": ({"min_rd_ratio": "3", "min_revenue": "500"}, "按新增研发投入的一定比例补助",
                        Decimal("200")),
    "科技创新券": ({"tiers_held": ["tech_sme"]}, "按合同金额50%给予创新券", Decimal("20")),
    "“宁科贷”科技型企业贷款风险补偿及贴息": ({"tiers_held": ["tech_sme", "high_tech"], "clean_record": True},
                                "贷款贴息不超过基准利率的50%", Decimal("50")),
    "自治区级工程技术研究中心认定及奖补": ({"min_rd_ratio": "3", "min_tech_staff_ratio": "10", "min_age_years": 3},
                             "一次性奖补", Decimal("100")),
    "高新技术企业认定奖励": ({"tiers_held": ["high_tech"]}, "首次认定奖励30万元，重新认定10万元", Decimal("30")),
    "科技小巨人企业培育奖补": ({"tiers_held": ["little_giant"]}, "培育奖补资金", Decimal("50")),
    "技术合同登记及科技成果转化奖补": ({"min_age_years": 1}, "按技术交易额给予奖补", Decimal("30")),
}
# A policy whose window opens on the day of the load: the officers are told of it at once.
OPENING = ("科技成果转化中试熟化补助", "宁夏回族自治区科学技术厅", "宁科规发〔2026〕1号",
           "对企业建设中试熟化平台、开展中试验证的，按实际投入给予补助。", {"min_rd_ratio": "2"},
           "按中试投入的30%补助", Decimal("80"))
# Where an informed push ends up, out of 20 (seeded by policy and enterprise): most stay informed.
FATE = ["informed"] * 9 + ["applied"] * 4 + ["granted"] * 5 + ["not_granted"] * 2


def _fate(policy_id: int, enterprise_id: int) -> int:
    return zlib.crc32(f"{policy_id}:{enterprise_id}".encode())


def load_policy_push(today: date) -> dict[str, int]:
    """Conditions, the policy opening today, pushes moved along, the window notifications (flushes only)."""
    counts = {"policy conditions": 0, "policy pushes moved": 0, "policy notifications": 0}
    policies = {p.title: p for p in db.session.scalars(select(Policy))}
    if OPENING[0] not in policies:
        title, issuer, number, summary, _conditions, benefit, cap = OPENING
        policies[title] = services.create_policy(
            {"title": title, "issuer": issuer, "document_no": number, "summary": summary, "benefit": benefit,
             "cap_amount": cap, "opens_on": today, "closes_on": today + timedelta(days=60)}, actor="demo")
    terms = {**TERMS, OPENING[0]: (OPENING[4], OPENING[5], OPENING[6])}
    for title, (conditions, benefit, cap) in terms.items():
        policy = policies.get(title)
        if policy is None or policy.conditions:
            continue
        if not policy.benefit:
            services.update_policy(policy, {"benefit": benefit, "cap_amount": cap}, actor="demo")
        services.save_conditions(policy, conditions, actor="demo")
        counts["policy conditions"] += 1

    pushes = list(db.session.scalars(select(PolicyPush).where(PolicyPush.status == "informed")))
    officer_of = _officers()
    pushes = [p for p in pushes if p.enterprise_id in officer_of]  # moved by the officer who serves it
    listed = blocking_entries({p.enterprise_id for p in pushes})  # on a negative list (crm.credit): not applied for
    pushes = [p for p in pushes if p.enterprise_id not in listed]
    if pushes:
        by_id = {p.id: p for p in policies.values()}
        enterprises = {e.id: e for e in db.session.scalars(select(Enterprise).where(
            Enterprise.id.in_({p.enterprise_id for p in pushes})))}
        eligible = queries.verdicts([by_id[i] for i in {p.policy_id for p in pushes}],
                                    list(enterprises.values()), today)
        for push in pushes:
            policy, enterprise = by_id[push.policy_id], enterprises[push.enterprise_id]
            seed = _fate(policy.id, enterprise.id)
            fate = FATE[seed % len(FATE)]
            if fate == "informed" or eligible[policy.id][enterprise.id][0] != "ready":
                continue
            informed = push.informed_on or today
            applied_on = min(today, informed + timedelta(days=7 + seed % 20))
            officer = officer_of[enterprise.id]
            services.set_push(policy, enterprise, "applied", actor=officer, on=applied_on)
            if fate != "applied":
                cap = policy.cap_amount or Decimal("50")
                amount = (cap * Decimal(20 + seed % 81) / 100).quantize(Decimal("0.01")) if fate == "granted" else None
                services.set_push(policy, enterprise, fate, actor=officer, amount=amount,
                                  on=min(today, applied_on + timedelta(days=20 + seed % 30)))
            counts["policy pushes moved"] += 1
    db.session.flush()
    # the stored matches (policy_matches) of the demo's enterprises, written around the services: as the 5-minute
    # job would (nothing the second time)
    counts["policy matches stored"] = services.refresh_stale_matches(today=today)
    from crm.ladder.services import refresh_stale_ranks

    counts["candidate ranks stored"] = refresh_stale_ranks(today=today)  # likewise the candidate pools' ranks
    before = _notifications()
    jobs.window_notifications(today)
    counts["policy notifications"] = _notifications() - before
    counts.update(_grading(today))
    counts["reserve pool entries"] = _reserve_pool(today)
    return counts


def _officers() -> dict:
    from crm.auth.models import User
    from crm.service.models import Assignment

    rows = db.session.execute(select(Assignment.enterprise_id, User).join(User, User.id == Assignment.officer_id)
                              .where(Assignment.ends_on.is_(None))).all()
    return dict(rows)


def _grading(today: date) -> dict[str, int]:
    """Tax paid, land and energy use on last year's figures of most enterprises (where missing), then the grades."""
    from crm.enterprises.models import AnnualFigures
    from crm.policies.services import save_grades

    added = 0
    for row in db.session.scalars(select(AnnualFigures).where(AnnualFigures.year == today.year - 1,
                                                              AnnualFigures.land_mu.is_(None))):
        seed = _fate(0, row.enterprise_id)
        if seed % 10 < 2 or row.revenue is None:  # some never report them: they stay ungraded
            continue
        row.land_mu = Decimal(5 + seed % 60)
        row.tax_paid = (row.revenue * Decimal(2 + seed % 9) / 100).quantize(Decimal("0.01"))
        row.energy_tce = Decimal(50 + seed % 900)
        added += 1
    db.session.flush()
    year, rows = queries.compute_grades(today)
    counts = save_grades(year, rows, model_version=queries.grading_model().version)
    return {"efficiency figures added": added, "grades added": counts["added"]}


def _reserve_pool(today: date) -> int:
    """The manager puts the top five served enterprises by innovation points in the high_tech reserve pool (once)."""
    from crm.auth.models import User
    from crm.policies.models import ReservePoolEntry

    manager = db.session.scalar(select(User).where(User.username == "manager"))
    if manager is None or db.session.scalar(select(ReservePoolEntry.id).limit(1)) is not None:
        return 0
    ranked = [r for r in queries.ranking(manager, today=today) if r.entry is None and r.officer_id]
    listed = blocking_entries({r.enterprise.id for r in ranked})
    top = [r for r in ranked if r.enterprise.id not in listed][:5]
    return len(services.add_to_reserve_pool(top, actor=manager, today=today))


def _notifications() -> int:
    from sqlalchemy import func

    from crm.notify.models import Notification

    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind.like("policy_window_%"))) or 0
