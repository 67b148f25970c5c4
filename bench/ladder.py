"""Ladder benchmark: rules evaluations per second, the candidate pool, readiness sheets.

Usage: .venv/bin/python bench/ladder.py [--enterprises 5000] [--database-url URL]
Prints a table and writes bench/results/ladder-<db>.json.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from crm import create_app  # noqa: E402
from crm.core.uscc import check_digit  # noqa: E402
from crm.extensions import db  # noqa: E402

D2 = Decimal("0.01")


def build(app, n: int) -> None:
    """A city with 5 counties and `n` enterprises with three years of figures, IP and inputs."""
    from flask_migrate import upgrade

    from crm.auth.models import User
    from crm.core.security import hash_password
    from crm.enterprises.models import AnnualFigures, Enterprise, IntellectualProperty, Region
    from crm.ladder.models import ReadinessInputs

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        now = datetime.now(UTC)
        db.session.add(Region(id=1, code="640100", name="银川市", level="city", path="/1/"))
        for k in range(5):
            db.session.add(Region(id=2 + k, code=f"6401{k + 4:02d}", name=f"县{k}", level="county", parent_id=1,
                                  path=f"/1/{2 + k}/"))
        db.session.flush()
        rnd = random.Random(11)
        ents, figs, ips, inputs = [], [], [], []
        for i in range(n):
            county = f"6401{i % 5 + 4:02d}"
            body = f"91{county}MA{i:07d}"
            ents.append({"id": i + 1, "name": f"测试企业{i:06d}有限公司", "uscc": body + check_digit(body),
                         "region_id": 2 + i % 5, "address": "", "industry_code": "C3511",
                         "tech_domain": "advanced_manufacturing", "established_on": date(2010 + i % 12, 3, 1),
                         "is_above_scale": i % 3 == 0, "status": "active", "current_tier": None,
                         "archived_at": None, "created_at": now, "updated_at": now})
            revenue = Decimal(rnd.randint(500, 30000))
            for year in (2023, 2024, 2025):
                revenue = (revenue * Decimal(str(rnd.uniform(0.95, 1.4)))).quantize(D2)
                rd = (revenue * Decimal(str(rnd.uniform(0.02, 0.08)))).quantize(D2)
                employees = rnd.randint(20, 600)
                figs.append({"enterprise_id": i + 1, "year": year, "revenue": revenue,
                             "hightech_revenue": (revenue * Decimal("0.7")).quantize(D2), "rd_expense": rd,
                             "rd_expense_domestic": rd, "total_cost": (revenue * Decimal("0.85")).quantize(D2),
                             "total_assets": revenue * 2, "net_assets": revenue, "employees": employees,
                             "tech_staff": employees // rnd.randint(3, 12), "rd_staff": employees // 15,
                             "conversions": rnd.randint(0, 6), "source": "import", "verified": True,
                             "created_at": now, "updated_at": now})
            for k in range(rnd.randint(0, 8)):
                ips.append({"enterprise_id": i + 1, "kind": "invention_patent" if k % 4 == 0 else "utility_model",
                            "title": "一种装置", "number": f"ZL{i:07d}{k}", "is_valid": True,
                            "used_in_earlier_application": False, "created_at": now, "updated_at": now})
            inputs.append({"enterprise_id": i + 1, "resident": True, "restricted_industry": False,
                           "clean_record": True, "updated_at": now})
        for table, rows in ((Enterprise, ents), (AnnualFigures, figs), (IntellectualProperty, ips),
                            (ReadinessInputs, inputs)):
            for start in range(0, len(rows), 5000):
                db.session.execute(sa.insert(table), rows[start:start + 5000])
        db.session.add(User(username="admin", name="admin", role="admin", password_hash=hash_password("x")))
        db.session.commit()


def timed(fn, runs: int) -> dict:
    """p50/p95 in ms over `runs` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[-(-len(times) * 95 // 100) - 1], 1)}


def main() -> None:
    """Build, measure, print, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--enterprises", type=int, default=5000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/ladder.db"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    build(app, args.enterprises)
    out: dict = {"enterprises": args.enterprises, "database": url.split(":")[0]}
    from flask_login import login_user

    from crm.auth.models import User
    from crm.enterprises.models import Enterprise
    from crm.ladder import queries
    from crm.ladder.engine import evaluate_all, ranks_of
    from crm.ladder.profile import parse_profile

    with app.test_request_context():
        admin = db.session.scalar(sa.select(User))
        login_user(admin)
        enterprises = list(db.session.scalars(sa.select(Enterprise)))
        start = time.perf_counter()
        data = queries.profiles_of(enterprises)
        out["profiles_built_per_s"] = round(len(data) / (time.perf_counter() - start))
        start = time.perf_counter()
        profiles = [parse_profile(d) for d in data.values()]
        out["profiles_parsed_per_s"] = round(len(profiles) / (time.perf_counter() - start))
        rulesets = queries.active_rulesets()
        # verdicts and rank keys (the nightly ranking's ranks_of), then full results with texts (evaluate_all), each
        # on freshly parsed profiles
        for key, evaluate in (("evaluations_per_s", ranks_of), ("results_per_s", evaluate_all)):
            start = time.perf_counter()
            for p in profiles:
                evaluate(p, rulesets)
            out[key] = round(len(profiles) * 5 / (time.perf_counter() - start))
            profiles = [parse_profile(d) for d in data.values()]
        out["candidate_pool_high_tech"] = timed(lambda: queries.candidate_pool(admin, "high_tech"), 3)
        one = enterprises[0]
        out["profile_of_one"] = timed(lambda: queries.profile_of(one), 20)
        try:
            from crm.ladder import documents
        except ImportError:
            documents = None
        if documents is not None and hasattr(documents, "readiness_sheet_pdf"):
            documents.readiness_sheet_pdf(one, "high_tech", user=admin, lang="zh")  # warm the fonts
            out["sheet_one"] = timed(lambda: documents.readiness_sheet_pdf(one, "high_tech", user=admin, lang="zh"), 10)
        if documents is not None and hasattr(documents, "build_batch"):
            app.config["SHEET_BATCH_DIR"] = tempfile.mkdtemp()
            batch = documents.new_batch(admin, "high_tech", "zh", None, [e.id for e in enterprises[:100]])
            db.session.commit()
            start = time.perf_counter()
            documents.build_batch(batch.id)
            wall = time.perf_counter() - start
            db.session.refresh(batch)
            out["sheet_batch_100_ms_per_sheet"] = round(wall * 1000 / max(1, batch.done))
    print(f"ladder benchmark: {args.enterprises:,} enterprises on {out['database']}")
    for key, value in out.items():
        print(f"  {key:28} {value}")
    dest = ROOT / "bench" / "results"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / f"ladder-{out['database']}.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
