"""Policy-push benchmark: every policy matched against the registry, the rates pages, the window job.

Usage: .venv/bin/python bench/policies.py [--scale 1.0] [--runs 5] [--seed 5] [--database-url URL]
Builds bench/province.py's data set (scale 1.0: 10,000 enterprises over 25 counties, 60 officers, visits, needs),
(with five years of figures and readiness inputs per enterprise), adds eligibility conditions on its 40 policies (35
active) and pushes in every state. Prints the time to evaluate every active policy against the whole registry on
demand, to store it all (policy_matches: `refresh_matches()`, the nightly job) and to refresh one policy or one
enterprise (the services' hooks), then, reading the stored verdicts, every eligible pair, the window job and
p50/p95/max and the queries of the rates pages; writes bench/results/policies-<db>.json.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import province as service_bench  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from crm import create_app  # noqa: E402
from crm.extensions import db  # noqa: E402

D2 = Decimal("0.01")
# A mix of the conditions the policy form offers, cycled over the 40 policies.
CONDITIONS = [{}, {"tiers_held": ["tech_sme"]}, {"tiers_held": ["high_tech"]}, {"min_rd_ratio": "3"},
              {"min_revenue": "2000", "min_tech_staff_ratio": "10"}, {"max_revenue": "20000", "min_age_years": 3},
              {"min_rd_ratio": "2", "clean_record": True}, {"tiers_held": ["tech_sme", "high_tech"], "resident": True}]


def enrich(app, seed: int) -> dict:
    """Figures (last two years), readiness inputs, policy conditions and windows, pushes; returns row counts."""
    from crm.core import clock
    from crm.policies.models import Policy, PolicyPush

    rnd = random.Random(seed)
    with app.app_context():
        today, now = clock.today(), datetime.now(UTC)
        ids = list(db.session.scalars(sa.select(sa.text("id")).select_from(sa.table("enterprises"))))
        pushes = []
        # the figures and readiness inputs come with bench/province.py's data set (five years per enterprise)
        policies = list(db.session.scalars(sa.select(Policy).order_by(Policy.id)))
        for i, policy in enumerate(policies):
            # every policy its own rule set (the matcher shares one evaluation between equal conditions)
            conditions = {**CONDITIONS[i % len(CONDITIONS)], "min_age_years": 1 + i // len(CONDITIONS)}
            policy.conditions, policy.conditions_version = conditions, 1
            # one in five opens today, one in five closes in ten days: the window job has work
            policy.opens_on = today - timedelta(days=0 if i % 5 == 0 else rnd.randint(8, 90))
            policy.closes_on = today + timedelta(days=10 if i % 5 == 1 else rnd.randint(30, 120))
        states = ["informed"] * 5 + ["applied"] * 2 + ["granted"] * 2 + ["not_granted"]
        for policy in policies:
            for eid in rnd.sample(ids, k=len(ids) // 10):
                status = rnd.choice(states)
                pushes.append({"policy_id": policy.id, "enterprise_id": eid, "status": status,
                               "amount": Decimal(rnd.randint(5, 50)) if status == "granted" else None,
                               "informed_on": today - timedelta(days=30), "created_at": now, "updated_at": now})
        service_bench._insert(PolicyPush.__table__, pushes)
        db.session.commit()
        return {"policy_pushes": len(pushes)}


def timed(app, func, runs: int) -> dict:
    """Wall time of func() in an app context (ms): p50 and max over `runs` (one warm-up)."""
    with app.app_context():
        func()
        db.session.rollback()  # the job's notifications are undone: each run does the whole work again
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            result = func()
            times.append((time.perf_counter() - start) * 1000)
            db.session.rollback()
    times.sort()
    return {"p50_ms": round(times[len(times) // 2], 1), "max_ms": round(times[-1], 1), "result": result}


def main() -> None:
    """Build, measure, print, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/policies.db"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    started = time.perf_counter()
    rows = service_bench.build(app, args.scale, args.seed)
    rows.update(enrich(app, args.seed))
    build_s = time.perf_counter() - started
    database = url.split(":")[0].split("+")[0]
    print(f"policies benchmark: scale {args.scale} on {database} (built in {build_s:.1f} s): "
          + ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in rows.items()))

    from crm.auth.models import User
    from crm.core import clock
    from crm.enterprises.models import Enterprise
    from crm.policies import jobs, queries, services
    from crm.policies.models import Policy

    def evaluate_all():
        # the on-demand evaluation the pages used before policy_matches: every policy × every operating enterprise
        policies = list(db.session.scalars(sa.select(Policy).where(Policy.active.is_(True))))
        enterprises = list(db.session.scalars(queries.operating(sa.select(Enterprise))))
        found = queries.verdicts(policies, enterprises)
        return sum(1 for by in found.values() for v, _r in by.values() if v == "ready")

    def refresh_all():
        return services.refresh_matches()

    def refresh_one_policy():
        return services.refresh_matches(policy_ids=[2])

    def refresh_one_enterprise():
        return services.refresh_matches(enterprise_ids=[1])

    def match_all():
        admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
        pairs, _o, _r = queries.eligible_pairs(admin)
        return len(pairs)

    def window_job():
        return jobs.window_notifications(clock.today())

    results = {"scale": args.scale, "rows": rows, "database": database, "build_seconds": round(build_s, 1),
               "runs": args.runs, "scenarios": {}}
    print(f"{'scenario':56} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}")
    for name, func, runs, unit in [
            ("evaluate every active policy × the registry (on demand)", evaluate_all, 1, "eligible pairs"),
            ("refresh_matches(): every policy × the registry, stored", refresh_all, 1, "rows written"),
            ("refresh one policy (its conditions saved)", refresh_one_policy, args.runs, "rows written"),
            ("refresh one enterprise (figures, certificate saved)", refresh_one_enterprise, args.runs, "rows written")]:
        r = timed(app, func, runs)
        results["scenarios"][name] = r
        print(f"{name:56} {r['p50_ms']:8.1f} {'':>8} {r['max_ms']:8.1f} {'':>8}  ({r['result']:,} {unit})")
    with app.app_context():  # the pages below read the stored verdicts, as after the nightly job
        services.refresh_matches()
        db.session.commit()
    r = timed(app, lambda: services.refresh_stale_matches() or 0, args.runs)
    name = "5-minute job with nothing stale (the missing-pairs check)"
    results["scenarios"][name] = r
    print(f"{name:56} {r['p50_ms']:8.1f} {'':>8} {r['max_ms']:8.1f} {'':>8}  ({r['result']:,} rows written)")
    r = timed(app, match_all, args.runs)
    name = "every eligible pair of the registry, read from the table"
    results["scenarios"][name] = r
    print(f"{name:56} {r['p50_ms']:8.1f} {'':>8} {r['max_ms']:8.1f} {'':>8}  ({r['result']:,} eligible pairs)")
    r = timed(app, window_job, 1)
    results["scenarios"]["window job (every policy opening or closing)"] = r
    print(f"{'window job (every policy opening or closing)':56} {r['p50_ms']:8.1f} {'':>8} {r['max_ms']:8.1f}"
          f"{'':>10}({r['result']})")
    for name, user, path in [("rates by policy: city manager", "manager1", "/policies/rates"),
                             ("rates by officer: city manager", "manager1", "/policies/rates?by=officer"),
                             ("rates by region: admin (whole registry)", "admin", "/policies/rates?by=region"),
                             ("rates by policy: admin (whole registry)", "admin", "/policies/rates"),
                             ("drill-down, not informed: admin", "admin",
                              "/policies/rates/enterprises?policy=2&measure=not_informed"),
                             ("policy page: city manager", "manager1", "/policies/2"),
                             ("enterprise page's policies card: admin", "admin", "/policies/enterprises/1")]:
        m = service_bench.measure(app, user, path, args.runs)
        results["scenarios"][name] = {"url": path, "user": user, **m}
        print(f"{name:56} {m['p50_ms']:8.1f} {m['p95_ms']:8.1f} {m['max_ms']:8.1f} {m['queries']:8d}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"policies-{database}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
