"""Registry benchmark: N enterprises (default 100,000), server time of the list page.

Usage: .venv/bin/python bench/registry.py [--rows 100000] [--runs 30] [--database-url URL]
Prints p50/p95 per scenario and writes bench/results/registry.json. The database is built
from the migrations in a scratch SQLite file unless --database-url names another (it is
emptied first).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from crm import create_app  # noqa: E402
from crm.core.uscc import check_digit  # noqa: E402
from crm.extensions import db  # noqa: E402

WORDS = ["瑞丰", "宝塔", "塞上", "贺兰山", "黄河", "沙湖", "六盘", "西夏", "凤城", "朔方", "宁东", "金积"]
TRADES = [("智能装备", "C3511", "advanced_manufacturing"), ("新材料", "C3985", "new_materials"),
          ("生物科技", "C2761", "biomedicine"), ("软件技术", "I6513", "electronic_information"),
          ("光伏科技", "C3825", "new_energy"), ("环保科技", "N7722", "resources_environment")]


def build(app, rows: int) -> None:
    """Regions (a province, 5 cities, 25 counties) and `rows` enterprises, inserted in bulk."""
    from flask_migrate import upgrade

    from crm.auth.models import User
    from crm.core.security import hash_password
    from crm.enterprises.models import Enterprise, Region

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        now = datetime.now(UTC)
        province = Region(code="640000", name="宁夏回族自治区", level="province", path="/1/", id=1)
        db.session.add(province)
        counties, next_id = [], 2
        for c in range(1, 6):
            city = Region(id=next_id, code=f"640{c}00", name=f"市{c}", level="city", parent_id=1,
                          path=f"/1/{next_id}/")
            db.session.add(city)
            city_id, next_id = next_id, next_id + 1
            for k in range(1, 6):
                county = Region(id=next_id, code=f"640{c}{k:02d}", name=f"县{c}{k}", level="county",
                                parent_id=city_id, path=f"/1/{city_id}/{next_id}/")
                db.session.add(county)
                counties.append(county)
                next_id += 1
        db.session.flush()
        rnd = random.Random(7)
        batch = []
        for i in range(rows):
            county = counties[i % len(counties)]
            word, (trade, industry, domain) = rnd.choice(WORDS), rnd.choice(TRADES)
            body = f"91{county.code}MA{i:07d}"
            batch.append({
                "name": f"宁夏{word}{trade}{i:06d}有限公司", "uscc": body + check_digit(body), "region_id": county.id,
                "address": "", "industry_code": industry, "tech_domain": domain,
                "established_on": date(1998 + i % 27, 1 + i % 12, 1 + i % 28), "is_above_scale": i % 3 == 0,
                "status": "active", "current_tier": None, "archived_at": None, "created_at": now, "updated_at": now,
            })
            if len(batch) == 5000:
                db.session.execute(sa.insert(Enterprise), batch)
                batch = []
        if batch:
            db.session.execute(sa.insert(Enterprise), batch)
        for username, role, region_id in [("admin", "admin", None), ("manager", "manager", 2),
                                          ("officer", "officer", counties[0].id)]:
            db.session.add(User(username=username, name=username, role=role, region_id=region_id,
                                password_hash=hash_password("x")))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))


def measure(app, username: str, url: str, runs: int) -> dict:
    """Server time of GET url for `username` (ms): p50, p95, max over `runs` after one warm-up."""
    from crm.auth.models import User

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        session_id = user.get_id()
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = session_id
    assert client.get(url).status_code == 200
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[-(-len(times) * 95 // 100) - 1], 1),
            "max_ms": round(times[-1], 1)}


def main() -> None:
    """Build, measure, print, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    started = time.perf_counter()
    build(app, args.rows)
    build_s = time.perf_counter() - started
    scenarios = [
        ("admin: first page", "admin", "/enterprises"),
        ("admin: search + 2 filters", "admin", "/enterprises?q=智能装备&domain=advanced_manufacturing&above=yes"),
        ("admin: page 1000", "admin", "/enterprises?page=1000"),
        ("admin: uscc prefix", "admin", "/enterprises?q=91640101MA00123"),
        ("admin: sort by established desc", "admin", "/enterprises?sort=established&desc=1"),
        ("manager (city, 5 counties): search + 2 filters", "manager",
         "/enterprises?q=新材料&region=3&tier=candidate"),
        ("officer (one county): first page", "officer", "/enterprises"),
    ]
    results = {"rows": args.rows, "database": url.split(":")[0], "build_seconds": round(build_s, 1),
               "scenarios": {}}
    print(f"registry benchmark: {args.rows:,} enterprises on {results['database']} (built in {build_s:.1f} s)")
    print(f"{'scenario':52} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, user, path in scenarios:
        r = measure(app, user, path, args.runs)
        results["scenarios"][name] = {"url": path, **r}
        print(f"{name:52} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['max_ms']:8.1f}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"registry-{results['database']}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
