"""Province benchmark (issue #14): the pages people use every day, the rules engine, sheets, worker memory.

Usage: .venv/bin/python bench/province.py [--scale 5] [--runs 20] [--seed 5] [--database-url URL [--reuse]]
Scale 1 is 10,000 enterprises over 25 counties with 50,000 annual figure rows, ~29,000 certifications, 60
officers (one current assignment per enterprise), 100,000 visits over two years, 60,000 needs, 40,000
follow-ups and their audit events; the default, scale 5, is the province of issue #14 (50,000 enterprises,
250,000 figure rows, ~145,000 certifications, 300 officers, 500,000 visits, 300,000 needs, 200,000 follow-ups).
Prints p50/p95/max and the SQL queries of one request per page, against the targets; rules evaluations per
second; one readiness sheet and a batch of 100; the peak memory of a web worker; writes
bench/results/province-<db>.json. The database is built from the migrations in a scratch SQLite file unless
--database-url names another (emptied first; --reuse measures what an earlier run built there).
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from crm import create_app  # noqa: E402
from crm.core.uscc import check_digit  # noqa: E402
from crm.extensions import db  # noqa: E402

BATCH = 5000
WORDS = ["瑞丰", "宝塔", "塞上", "贺兰山", "黄河", "沙湖", "六盘", "西夏", "凤城", "朔方", "宁东", "金积"]
TRADES = [("智能装备", "C3511", "advanced_manufacturing"), ("新材料", "C3985", "new_materials"),
          ("生物科技", "C2761", "biomedicine"), ("软件技术", "I6513", "electronic_information"),
          ("光伏科技", "C3825", "new_energy"), ("环保科技", "N7722", "resources_environment")]
MODES = ["onsite", "onsite", "onsite", "phone", "phone", "video", "event", "walk_in"]
# Needs by category: finance and talent come up most often.
CATEGORY_WEIGHTS = {"finance": 20, "talent": 14, "technology": 12, "platform": 6, "commercialisation": 6,
                    "policy": 14, "certification": 10, "ip": 8, "cooperation": 4, "premises": 3, "other": 3}
DUE_DAYS = {"policy": 7, "certification": 14, "ip": 30, "finance": 30, "talent": 30, "platform": 60,
            "technology": 60, "commercialisation": 60, "cooperation": 60, "premises": 90, "other": 30}
NEED_TITLES = {"finance": "申请科技贷款贴息", "talent": "引进研发骨干", "technology": "工艺难题攻关",
               "platform": "申报市级研发平台", "commercialisation": "成果转化对接", "policy": "研发费用加计扣除咨询",
               "certification": "高企认定辅导", "ip": "发明专利布局", "cooperation": "对接高校团队",
               "premises": "扩建厂房用地", "other": "其他诉求"}
ACTIONS = ["回访了解进展", "电话确认材料", "协调金融机构对接", "送达政策解读", "组织专家上门"]
LADDER = ["tech_sme", "little_giant", "high_tech", "gazelle", "demonstration"]
D2 = Decimal("0.01")


def _at(day: date, hour: int = 2) -> datetime:
    """A UTC timestamp on `day` (02:00 UTC is 10:00 in Beijing, so the local date is `day`)."""
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


def _insert(table, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(table), rows[start:start + BATCH])


def add_certifications(rnd, eid: int, today: date, now: datetime, certs: list, events: list) -> str | None:
    """An enterprise's certification history (about 2.9 per enterprise); returns the tier it holds today.

    科技型中小企业 registers every year (valid to 31 December): most enterprises hold some of the last three
    years'; 高企 runs three years and is often renewed; the upper tiers are held by high-tech enterprises."""
    held: list[str] = []

    def add(tier: str, issued: date, expires: date | None) -> None:
        issued = min(issued, today)
        active = expires is None or expires >= today
        cid = len(certs) + 1
        certs.append({"id": cid, "enterprise_id": eid, "tier": tier, "certificate_no": f"{tier[:2].upper()}{cid:09d}",
                      "issued_on": issued, "expires_on": expires, "expiry_overridden": False, "issuer": "",
                      "status": "active" if active else "expired",
                      "status_changed_on": None if active else expires + timedelta(days=1), "note": "",
                      "created_at": now, "updated_at": now})
        events.append({"enterprise_id": eid, "certification_id": cid, "tier": tier, "kind": "gained",
                       "occurred_on": issued, "actor_id": None, "created_at": _at(issued)})
        if active:
            held.append(tier)
        else:
            events.append({"enterprise_id": eid, "certification_id": cid, "tier": tier, "kind": "expired",
                           "occurred_on": expires + timedelta(days=1), "actor_id": None,
                           "created_at": _at(expires + timedelta(days=1))})

    if rnd.random() < 0.85:
        for year in range(today.year - 2, today.year + 1):
            if rnd.random() < 0.9:
                add("tech_sme", date(year, rnd.randint(3, 9), rnd.randint(1, 28)), date(year, 12, 31))
    if rnd.random() < 0.07:
        add("little_giant", today - timedelta(days=rnd.randint(30, 1500)), None)
    if rnd.random() < 0.3:
        issued = today - timedelta(days=rnd.randint(30, 5 * 365))
        if issued < today - timedelta(days=3 * 365) and rnd.random() < 0.6:  # expired, and renewed
            add("high_tech", issued, issued + timedelta(days=3 * 365 - 1))
            issued = issued + timedelta(days=3 * 365)
        add("high_tech", issued, issued + timedelta(days=3 * 365 - 1))
        if rnd.random() < 0.12:
            add("gazelle", today - timedelta(days=rnd.randint(30, 700)), None)
        if rnd.random() < 0.04:
            add("demonstration", today - timedelta(days=rnd.randint(30, 700)), None)
    return max(held, key=LADDER.index) if held else None


def add_figures(rnd, eid: int, this_year: int, now: datetime, figures: list, ip_items: list, inputs: list) -> None:
    """Five years of annual figures, a few IP items and the readiness inputs of one enterprise."""
    revenue = Decimal(rnd.randint(300, 30000))
    for year in range(this_year - 5, this_year):
        revenue = (revenue * Decimal(str(round(rnd.uniform(0.9, 1.4), 3)))).quantize(D2)
        rd = (revenue * Decimal(str(round(rnd.uniform(0.01, 0.09), 3)))).quantize(D2)
        employees = rnd.randint(10, 600)
        figures.append({"enterprise_id": eid, "year": year, "revenue": revenue,
                        "hightech_revenue": (revenue * Decimal("0.65")).quantize(D2), "rd_expense": rd,
                        "rd_expense_domestic": rd, "total_cost": (revenue * Decimal("0.85")).quantize(D2),
                        "total_income": revenue, "total_assets": revenue * 2, "net_assets": revenue,
                        "employees": employees, "tech_staff": employees // rnd.randint(3, 12),
                        "rd_staff": employees // 15, "conversions": rnd.randint(0, 6), "source": "import",
                        "verified": True, "created_at": now, "updated_at": now})
    for k in range(rnd.randint(0, 4)):
        ip_items.append({"enterprise_id": eid, "kind": "invention_patent" if k % 4 == 0 else "utility_model",
                         "title": "一种装置", "number": f"ZL{eid:08d}{k}", "is_valid": True,
                         "used_in_earlier_application": False, "created_at": now, "updated_at": now})
    inputs.append({"enterprise_id": eid, "resident": True, "restricted_industry": False, "clean_record": True,
                   "updated_at": now})


def build(app, scale: float, seed: int) -> dict:
    """Regions, officers, enterprises with assignments, visits, needs, follow-ups and audit events, in bulk."""
    from flask_migrate import upgrade

    from crm.auth.models import User
    from crm.core import clock
    from crm.core.audit import AuditEvent
    from crm.core.security import hash_password
    from crm.enterprises.models import AnnualFigures, Enterprise, IntellectualProperty, Region
    from crm.ladder.models import Certification, ReadinessInputs, TierEvent
    from crm.policies.models import Policy
    from crm.service.models import Assignment, FollowUp, Need, Visit, visit_policies

    n_ent = max(100, round(10_000 * scale))
    n_officers = max(25, round(60 * scale))
    n_visits, n_needs, n_follow = round(100_000 * scale), round(60_000 * scale), round(40_000 * scale)
    rnd = random.Random(seed)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        today = clock.today()
        now = datetime.now(UTC)
        # A province, 5 cities, 25 counties (as bench/registry.py).
        db.session.add(Region(code="640000", name="宁夏回族自治区", level="province", path="/1/", id=1))
        cities, counties, next_id = [], [], 2
        for c in range(1, 6):
            db.session.add(Region(id=next_id, code=f"640{c}00", name=f"市{c}", level="city", parent_id=1,
                                  path=f"/1/{next_id}/"))
            city_id, next_id = next_id, next_id + 1
            cities.append(city_id)
            for k in range(1, 6):
                db.session.add(Region(id=next_id, code=f"640{c}{k:02d}", name=f"县{c}{k}", level="county",
                                      parent_id=city_id, path=f"/1/{city_id}/{next_id}/"))
                counties.append((next_id, f"640{c}{k:02d}", city_id))
                next_id += 1
        db.session.flush()
        # Users: an admin, one manager per city (manager1 is "the city manager"), officers spread over counties.
        password = hash_password("x")
        users = [{"id": 1, "username": "admin", "name": "管理员", "role": "admin", "region_id": None}]
        users += [{"id": 2 + i, "username": f"manager{i + 1}", "name": f"科长{i + 1}", "role": "manager",
                   "region_id": city} for i, city in enumerate(cities)]
        officers_of: dict[int, list[int]] = {county_id: [] for county_id, _, _ in counties}
        for k in range(n_officers):
            uid, county_id = 10 + k, counties[k % len(counties)][0]
            users.append({"id": uid, "username": f"officer{k + 1}", "name": f"专员{k + 1:02d}", "role": "officer",
                          "region_id": county_id})
            officers_of[county_id].append(uid)
        for u in users:
            db.session.add(User(password_hash=password, **u))
        db.session.flush()
        username = {u["id"]: u["username"] for u in users}
        policies = [{"id": i + 1, "title": f"科技政策{i + 1:02d}号", "issuer": "自治区科技厅",
                     "document_no": f"宁科发〔2025〕{i + 1}号", "summary": "", "opens_on": None, "closes_on": None,
                     "active": i % 8 != 0, "created_at": now, "updated_at": now} for i in range(40)]
        _insert(Policy, policies)

        # Enterprises; a capped Pareto weight makes some enterprises far busier than others.
        ents, assignments, certs, tier_events, figures, ip_items, inputs = [], [], [], [], [], [], []
        officer_of, weights, names = {}, [], {}
        for i in range(n_ent):
            county_id, code, _city = counties[i % len(counties)]
            eid = i + 1
            word, (trade, industry, domain) = rnd.choice(WORDS), rnd.choice(TRADES)
            body = f"91{code}MA{i:07d}"
            held = add_certifications(rnd, eid, today, now, certs, tier_events)
            add_figures(rnd, eid, today.year, now, figures, ip_items, inputs)
            names[eid] = f"宁夏{word}{trade}{i:06d}有限公司"
            ents.append({
                "id": eid, "name": names[eid], "uscc": body + check_digit(body), "region_id": county_id,
                "address": "", "industry_code": industry, "tech_domain": domain,
                "established_on": date(1998 + i % 27, 1 + i % 12, 1 + i % 28), "is_above_scale": i % 3 == 0,
                "status": "active", "current_tier": held, "archived_at": now if i % 100 == 99 else None,
                "created_at": now, "updated_at": now})
            officer = rnd.choice(officers_of[county_id])
            officer_of[eid] = officer
            starts = today - timedelta(days=rnd.randint(30, 3 * 365))
            if rnd.random() < 0.2:  # an earlier officer, now ended
                before = rnd.choice(officers_of[county_id])
                assignments.append({"enterprise_id": eid, "officer_id": before,
                                    "starts_on": starts - timedelta(days=rnd.randint(60, 700)), "ends_on": starts,
                                    "assigned_by_id": 2, "created_at": now})
            assignments.append({"enterprise_id": eid, "officer_id": officer, "starts_on": starts, "ends_on": None,
                                "assigned_by_id": 2, "created_at": now})
            weights.append(min(rnd.paretovariate(1.5), 20.0))
        _insert(Enterprise, ents)
        _insert(Assignment, assignments)
        _insert(Certification, certs)
        _insert(TierEvent, tier_events)
        _insert(AnnualFigures, figures)
        from crm.enterprises.services import backfill_reports

        n_reports = backfill_reports()  # each year its source's report (provenance), as migration 0023 gave them
        _insert(IntellectualProperty, ip_items)
        _insert(ReadinessInputs, inputs)
        # the portal's user: the enterprise of the first high-tech certificate
        portal_ent = next(c["enterprise_id"] for c in certs if c["tier"] == "high_tech")
        db.session.add(User(id=5000, username="enterprise1", name="企业联系人", role="enterprise",
                            enterprise_id=portal_ent, password_hash=password))
        ids = list(range(1, n_ent + 1))
        cum = list(_cumulative(weights))

        def pick() -> int:
            return rnd.choices(ids, cum_weights=cum)[0]

        audit: list[dict] = []
        # Visits over the last two years, mostly by the enterprise's officer; a third cite policies.
        visits, links, visits_of = [], [], {}
        for vid in range(1, n_visits + 1):
            eid = pick()
            on = today - timedelta(days=rnd.randint(0, 730))
            officer = officer_of[eid] if rnd.random() < 0.85 else rnd.choice(officers_of[ents[eid - 1]["region_id"]])
            visits.append({"id": vid, "enterprise_id": eid, "officer_id": officer, "visited_on": on,
                           "mode": rnd.choice(MODES), "people_met": "总经理、财务负责人",
                           "summary": f"走访了解研发投入与融资需求（第{vid}次记录）", "created_at": _at(on),
                           "updated_at": _at(on)})
            visits_of.setdefault(eid, []).append((vid, on, officer))
            if rnd.random() < 0.33:
                for pid in rnd.sample(range(1, 41), rnd.randint(1, 2)):
                    links.append({"visit_id": vid, "policy_id": pid})
            audit.append({"at": _at(on, 3), "actor_id": officer, "actor_label": username[officer], "ip": None,
                          "action": "create", "entity_type": "visits", "entity_id": vid, "enterprise_id": eid,
                          "summary": f"{names[eid]} · {on.isoformat()}", "changes": {}})
        _insert(Visit, visits)
        _insert(visit_policies, links)

        # Needs: ~25% open or in progress (raised in the last half year, so some are overdue), the rest closed.
        categories, cat_weights = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())
        needs, needs_of = [], {}
        for nid in range(1, n_needs + 1):
            eid = pick()
            category = rnd.choices(categories, weights=cat_weights)[0]
            own_visits = visits_of.get(eid)
            visit_id = None
            if own_visits and rnd.random() < 0.6:
                visit_id, raised, _ = rnd.choice(own_visits)
            roll = rnd.random()
            if roll < 0.25:
                status = "open" if roll < 0.15 else "in_progress"
                raised = today - timedelta(days=rnd.randint(0, 180))
                visit_id = None
            elif visit_id is None:
                raised = today - timedelta(days=rnd.randint(20, 730))
            due = raised + timedelta(days=DUE_DAYS[category])
            owner = officer_of[eid] if rnd.random() < 0.92 else None
            row = {"id": nid, "enterprise_id": eid, "visit_id": visit_id, "category": category,
                   "title": NEED_TITLES[category], "description": "", "raised_on": raised, "due_on": due,
                   "owner_id": owner, "status": "open", "department_id": None, "resolution": "", "closed_on": None,
                   "satisfaction": None, "created_by_id": officer_of[eid], "updated_by_id": officer_of[eid],
                   "version": 1, "created_at": _at(raised), "updated_at": _at(raised)}
            actor = owner or officer_of[eid]
            if roll >= 0.25:
                status = rnd.choices(["resolved", "referred", "cannot_resolve"], weights=[70, 20, 10])[0]
                closed = min(today, raised + timedelta(days=rnd.randint(1, 2 * DUE_DAYS[category])))
                row.update(status=status, closed_on=closed, version=2, updated_at=_at(closed, 4),
                           resolution="已协调解决" if status == "resolved" else "已转相关部门办理",
                           department_id=rnd.randint(1, 10) if status == "referred" else None,
                           satisfaction=rnd.randint(3, 5) if status == "resolved" else None)
                old = "in_progress" if rnd.random() < 0.6 else "open"
                audit.append({"at": _at(closed, 4), "actor_id": actor, "actor_label": username[actor], "ip": None,
                              "action": "status", "entity_type": "needs", "entity_id": nid, "enterprise_id": eid,
                              "summary": f"{names[eid]} · {row['title']}", "changes": {"status": [old, status]}})
            elif status == "in_progress":
                moved = min(today, raised + timedelta(days=rnd.randint(0, 10)))
                row.update(status=status, version=2, updated_at=_at(moved, 4))
                audit.append({"at": _at(moved, 4), "actor_id": actor, "actor_label": username[actor], "ip": None,
                              "action": "status", "entity_type": "needs", "entity_id": nid, "enterprise_id": eid,
                              "summary": f"{names[eid]} · {row['title']}", "changes": {"status": ["open", status]}})
            needs.append(row)
            needs_of.setdefault(eid, []).append(nid)
            audit.append({"at": _at(raised, 3), "actor_id": officer_of[eid], "actor_label": username[officer_of[eid]],
                          "ip": None, "action": "create", "entity_type": "needs", "entity_id": nid,
                          "enterprise_id": eid, "summary": f"{names[eid]} · {row['title']}", "changes": {}})
        _insert(Need, needs)

        # Follow-ups: ~20% open (half of them overdue), the rest done around their due date.
        follow_ups = []
        for fid in range(1, n_follow + 1):
            eid = pick()
            need_id = rnd.choice(needs_of[eid]) if eid in needs_of and rnd.random() < 0.4 else None
            visit_id = rnd.choice(visits_of[eid])[0] if need_id is None and eid in visits_of and rnd.random() < 0.5 \
                else None
            roll = rnd.random()
            if roll < 0.2:
                due = today + timedelta(days=rnd.randint(-60, 30) if roll < 0.1 else rnd.randint(0, 30))
                done_at = None
            else:
                due = today - timedelta(days=rnd.randint(1, 720))
                done_at = _at(due + timedelta(days=rnd.randint(-5, 5)), 6)
                done_at = min(done_at, now)
            created = min(_at(due - timedelta(days=rnd.randint(3, 30)), 5), now)
            assignee = officer_of[eid]
            follow_ups.append({
                "id": fid, "enterprise_id": eid, "assignee_id": assignee, "due_on": due, "action": rnd.choice(ACTIONS),
                "need_id": need_id, "visit_id": visit_id,
                "source": "need" if need_id else ("visit" if visit_id else "manual"), "done_at": done_at,
                "done_note": "已完成" if done_at else "", "done_by_id": assignee if done_at else None,
                "created_by_id": assignee, "created_at": created, "updated_at": done_at or created})
        _insert(FollowUp, follow_ups)
        audit.sort(key=lambda e: e["at"])
        _insert(AuditEvent, audit)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
        return {"enterprises": n_ent, "annual_figures": len(figures), "figure_reports": n_reports,
                "certifications": len(certs), "officers": n_officers, "visits": n_visits, "needs": n_needs, "follow_ups": n_follow,
                "audit_events": len(audit)}


def existing(app) -> dict | None:
    """Row counts of a database an earlier run built (None when it holds no enterprises yet)."""
    from crm.enterprises.models import Enterprise
    from crm.ladder.models import Certification
    from crm.service.models import FollowUp, Need, Visit

    with app.app_context():
        try:
            counts = {name: db.session.scalar(sa.select(sa.func.count()).select_from(model)) for name, model in
                      [("enterprises", Enterprise), ("visits", Visit), ("needs", Need), ("follow_ups", FollowUp),
                       ("certifications", Certification)]}
        except sa.exc.SQLAlchemyError:
            return None
    return counts if counts["enterprises"] else None


def refresh_rollups(app) -> dict[str, int]:
    """Run what the scheduler runs every 10 minutes, every hour and every night: the roll-ups of the year's counts
    and of the forecasts' candidates, the stored policy matches and candidate ranks ({kind: ms})."""
    from crm.core import clock
    from crm.ladder.services import refresh_ranks
    from crm.pipeline.models import Rollup
    from crm.pipeline.services import refresh_activity, refresh_at_risk, refresh_forecast
    from crm.policies.services import refresh_matches

    with app.app_context():
        refresh_activity(clock.today())
        refresh_forecast(clock.today())
        db.session.commit()
        started = time.perf_counter()
        refresh_matches(today=clock.today())  # the nightly policies.refresh_matches
        db.session.commit()
        policy_ms = round((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        refresh_ranks(today=clock.today())  # the nightly ladder.refresh_ranks
        db.session.commit()
        ranks_ms = round((time.perf_counter() - started) * 1000)
        refresh_at_risk(clock.today())  # hourly, on the ranks just stored
        db.session.commit()
        out = dict(db.session.execute(sa.select(Rollup.kind, Rollup.duration_ms)).all())
        out.update(policy_matches=policy_ms, candidate_ranks=ranks_ms)
        if db.engine.dialect.name == "postgresql":  # as autovacuum would after millions of new rows
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE policy_matches"))
                conn.execute(sa.text("VACUUM ANALYZE candidate_ranks"))
                # and write the pages those nightly jobs dirtied before the day's pages are timed (a checkpoint
                # flushing millions of rows competed with the first pages measured)
                conn.execute(sa.text("CHECKPOINT"))
        return out


def _rollups_child(app, queue) -> None:
    with app.app_context():
        db.engine.dispose(close=False)  # the parent's connections stay the parent's
    queue.put(refresh_rollups(app))


def rollups_apart(app) -> dict[str, int]:
    """refresh_rollups in a child process, as the scheduler runs them beside the web workers: the process that
    then times the pages has not held the province's policy matches and ranks, as a web worker has not."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_rollups_child, args=(app, queue))
    child.start()
    out = queue.get()
    child.join()
    if child.exitcode:
        raise SystemExit(f"the roll-ups failed (exit {child.exitcode})")
    return out


def add_targets(app) -> None:
    """This year's targets for manager1's city (so the dashboard shows lights and the targets page a forecast)."""
    from decimal import Decimal

    from crm.core import clock
    from crm.enterprises.models import Region
    from crm.pipeline.models import Target

    with app.app_context():
        city = db.session.scalar(sa.select(Region).where(Region.path == "/1/2/"))
        year = clock.today().year
        for metric, tier, value in [("new_certs", "high_tech", 40), ("valid_count", "high_tech", 200),
                                    ("visits", "", 20000), ("resolution_rate", "", 80), ("coverage", "", 90)]:
            db.session.add(Target(year=year, region_id=city.id, metric=metric, tier=tier, value=Decimal(value)))
        db.session.commit()


def _cumulative(weights):
    total = 0.0
    for w in weights:
        total += w
        yield total


def pick_subjects(app) -> dict:
    """The busiest officer, the enterprise with the most records, a deep page of the finance needs."""
    from crm.auth.models import User
    from crm.enterprises.models import Enterprise, Region
    from crm.service.models import OPEN_NEED_STATUSES, FollowUp, Need, Visit

    with app.app_context():
        load: dict[int, int] = {}
        for owner, n in db.session.execute(sa.select(Need.owner_id, sa.func.count()).where(
                Need.status.in_(OPEN_NEED_STATUSES), Need.owner_id.is_not(None)).group_by(Need.owner_id)):
            load[owner] = load.get(owner, 0) + n
        for assignee, n in db.session.execute(sa.select(FollowUp.assignee_id, sa.func.count()).where(
                FollowUp.done_at.is_(None)).group_by(FollowUp.assignee_id)):
            load[assignee] = load.get(assignee, 0) + n
        busy_id = max(load, key=lambda k: (load[k], -k))
        busy = db.session.get(User, busy_id)
        records: dict[int, int] = {}
        for model in (Visit, Need, FollowUp):
            for eid, n in db.session.execute(sa.select(model.enterprise_id, sa.func.count())
                                             .group_by(model.enterprise_id)):
                records[eid] = records.get(eid, 0) + n
        top_id = max(records, key=lambda k: (records[k], -k))
        top = db.session.get(Enterprise, top_id)
        city_id = int(top.region.path.strip("/").split("/")[1])
        city_manager = db.session.scalar(sa.select(User.username).where(User.role == "manager",
                                                                        User.region_id == city_id))
        city = sa.select(Region.id).where(Region.path.startswith("/1/2/"))  # manager1's city
        finance = db.session.scalar(sa.select(sa.func.count()).select_from(Need).join(Need.enterprise).where(
            Need.category == "finance", Enterprise.archived_at.is_(None), Enterprise.region_id.in_(city))) or 0
        return {"busy_officer": busy.username, "busy_officer_load": load[busy_id], "top_enterprise": top_id,
                "top_enterprise_records": records[top_id], "top_enterprise_officer": _officer_of(top_id),
                "top_enterprise_manager": city_manager, "finance_deep_page": max(1, (finance - 1) // 50)}


def _officer_of(enterprise_id: int) -> str:
    from crm.auth.models import User
    from crm.service.models import Assignment

    return db.session.scalar(sa.select(User.username).join(Assignment, Assignment.officer_id == User.id).where(
        Assignment.enterprise_id == enterprise_id, Assignment.ends_on.is_(None)))


def measure(app, username: str, url: str, runs: int) -> dict:
    """Server time of GET url for `username` (ms): p50, p95, max over `runs` after one warm-up; queries of one."""
    from sqlalchemy import event

    from crm.auth.models import User

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        session_id = user.get_id()
        engine = db.engine
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = session_id
    assert client.get(url).status_code == 200, url
    counter = {"n": 0}
    statements = []

    def count(_conn, _cursor, statement, parameters, _context, _many):
        counter["n"] += 1
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200, url
    finally:
        event.remove(engine, "before_cursor_execute", count)
    seq_scans = explain_seq_scans(app, statements) if engine.dialect.name == "postgresql" else []
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, url
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[-(-len(times) * 95 // 100) - 1], 1),
            "max_ms": round(times[-1], 1), "queries": counter["n"], "seq_scans": seq_scans}


BIG_TABLE_ROWS = 20_000  # a sequential scan of a table this large on a page view is worth a look


def explain_seq_scans(app, statements: list) -> list[str]:
    """EXPLAIN (PostgreSQL) every SELECT a page ran; the tables over BIG_TABLE_ROWS rows the plans read whole
    ("table (rows)"): the check that the pages' queries use indexes (issue #14)."""
    found = set()
    with app.app_context(), db.engine.connect() as conn:
        sizes = dict(conn.execute(sa.text("SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r'")).all())
        cursor = conn.connection.cursor()
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            stack = [cursor.fetchone()[0][0]["Plan"]]
            while stack:
                node = stack.pop()
                stack.extend(node.get("Plans", []))
                table = node.get("Relation Name")
                if node["Node Type"] == "Seq Scan" and sizes.get(table, 0) > BIG_TABLE_ROWS:
                    found.add(f"{table} ({sizes[table]:,})")
        cursor.close()
    return sorted(found)


# Targets of issue #14 on the developers' 2-core machine (p95 ms for pages).
PAGE_TARGET_MS, DASHBOARD_TARGET_MS = 50, 150


def scenarios_of(s: dict) -> list[tuple[str, str, str, bool]]:
    """(name, user, path, one of the pages issue #14 sets a target for) of every page measured."""
    top, busy = s["top_enterprise"], s["busy_officer"]
    return [
        ("registry: admin, search + 2 filters", "admin", "/enterprises?q=智能装备&domain=advanced_manufacturing&above=yes",
         True),
        ("registry: city manager, search + 2 filters", "manager1", "/enterprises?q=新材料&region=3&tier=candidate", True),
        (f"enterprise page: {top} (its city manager)", s["top_enterprise_manager"], f"/enterprises/{top}", True),
        (f"workbench: busiest officer ({busy})", busy, "/workbench", True),
        # the workbench's card of policies to tell, which the page loads after itself (htmx)
        (f"workbench's policies to tell: {busy}", busy, "/workbench/policies", True),
        ("needs board: city manager, no filter", "manager1", "/needs", True),
        ("needs board: admin, no filter", "admin", "/needs", True),
        ("needs board: city manager, overdue=1", "manager1", "/needs?overdue=1", False),
        (f"needs board: finance, all statuses, page {s['finance_deep_page']}", "manager1",
         f"/needs?category=finance&status=&page={s['finance_deep_page']}", False),
        ("pipeline dashboard: city manager", "manager1", "/pipeline", True),
        ("pipeline dashboard: admin (every region)", "admin", "/pipeline", True),
        ("pipeline dashboard: city manager, counted live", "manager1", "/pipeline#live", False),
        ("pipeline dashboard: admin, counted live", "admin", "/pipeline#live", False),
        ("candidate ranking high_tech: city manager", "manager1", "/candidates?tier=high_tech", True),
        ("candidate ranking high_tech: admin (every region), page 20", "admin", "/candidates?tier=high_tech&page=20",
         True),
        ("held tiers at risk: busiest officer", busy, "/cycle/at-risk", False),
        ("held tiers at risk: city manager", "manager1", "/cycle/at-risk", False),
        ("portal home: enterprise user", "enterprise1", "/portal", True),
        (f"follow-ups: {busy}, open", busy, "/follow-ups?state=open&assignee=me", False),
        (f"timeline: enterprise {top} ({s['top_enterprise_records']} records)", s["top_enterprise_officer"],
         f"/enterprises/{top}/timeline", False),
        ("assignments: city manager", "manager1", "/assignments", False),
        ("pipeline targets (with forecast): city manager", "manager1", "/pipeline/targets", False),
        ("pipeline targets, counted and ranked live", "manager1", "/pipeline/targets#live", False),
        ("indicator table: city manager", "manager1", "/pipeline/indicators", False),
    ]


def measure_engine(app, runs: int) -> dict:
    """One readiness sheet and a batch of 100 (first, in a worker that has not loaded a province: a full
    collection over 50,000 loaded enterprises took a second in the middle of a sheet), then rules evaluations per
    second over every enterprise × every tier, each profile built and evaluated once (cold, as the nightly
    ranking does; the engine memoises per profile, so a second pass over the same profiles reads faster)."""
    from flask_login import login_user

    from crm.auth.models import User
    from crm.enterprises.models import Enterprise
    from crm.ladder import documents, queries
    from crm.ladder.engine import evaluate_all, ranks_of
    from crm.ladder.profile import parse_profile

    out = {}
    with app.test_request_context():
        admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
        login_user(admin)
        first_ids = list(db.session.scalars(sa.select(Enterprise.id).where(Enterprise.archived_at.is_(None))
                                            .order_by(Enterprise.id).limit(100)))
        one = db.session.get(Enterprise, first_ids[0])
        documents.readiness_sheet_pdf(one, "high_tech", user=admin, lang="zh")  # warm the fonts
        out["sheet_one"] = timed(lambda: documents.readiness_sheet_pdf(one, "high_tech", user=admin, lang="zh"),
                                 min(runs, 10))
        app.config["SHEET_BATCH_DIR"] = tempfile.mkdtemp()
        batch = documents.new_batch(admin, "high_tech", "zh", None, first_ids)
        db.session.commit()
        start = time.perf_counter()
        documents.build_batch(batch.id)
        out["sheet_batch_100_s"] = round(time.perf_counter() - start, 1)
        enterprises = list(db.session.scalars(sa.select(Enterprise).where(Enterprise.archived_at.is_(None))))
        start = time.perf_counter()
        data = queries.profiles_of(enterprises)
        out["profiles_built_per_s"] = round(len(data) / (time.perf_counter() - start))
        rulesets = queries.active_rulesets()
        # the verdicts and rank keys, as the nightly ranking and the at-risk count compute them (ranks_of), then the
        # full results with every entry and text, as a page, a sheet or the API shows them (evaluate_all); each on
        # profiles nothing was computed for yet
        for key, evaluate in (("evaluations_per_s", ranks_of), ("results_per_s", evaluate_all)):
            profiles = [parse_profile(d) for d in data.values()]
            start = time.perf_counter()
            for p in profiles:
                evaluate(p, rulesets)
            out[key] = round(len(profiles) * 5 / (time.perf_counter() - start))
            del profiles
        out["evaluations"] = len(data) * 5
        del enterprises, data
        db.session.expunge_all()
    return out


def measure_at_risk(app, s: dict, runs: int) -> dict:
    """Held tiers at risk (#11, #14): counted in SQL on the stored ranks, as the list page, the hourly count and the
    workbench do, for the whole province, a city and the busiest officer; and the city's list evaluated live
    certification by certification, the page's fallback when the ranks are missing (seconds; checked, listed)."""
    from flask_login import login_user

    from crm.auth.models import User
    from crm.cycle.queries import at_risk, at_risk_count, at_risk_query

    out = {}
    for label, username, officer in (("province (admin)", "admin", ""), ("city (manager1)", "manager1", ""),
                                     ("busiest officer", s["busy_officer"], "me")):
        with app.test_request_context():
            user = db.session.scalar(sa.select(User).where(User.username == username))
            login_user(user)
            who = str(user.id) if officer else ""
            checked = db.session.scalar(sa.select(sa.func.count()).select_from(
                at_risk_query(user, officer=who).order_by(None).subquery()))
            times = []
            for _ in range(max(1, min(runs, 10))):
                started = time.perf_counter()
                listed = at_risk_count(user, officer=who)
                times.append(time.perf_counter() - started)
            out[label] = {"certifications_checked": checked, "listed": listed,
                          "seconds": round(statistics.median(times), 3)}
            if username == "manager1":
                started = time.perf_counter()
                assert len(at_risk(user, officer=who)) == listed  # the SQL and the engine agree
                out[label]["live_seconds"] = round(time.perf_counter() - started, 2)
    return out


def timed(fn, runs: int) -> dict:
    """p50/p95 in ms over `runs` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[-(-len(times) * 95 // 100) - 1], 1)}


def worker_memory(url: str, pages: list[tuple[str, str]], rounds: int = 3) -> int:
    """Peak resident memory (MB) of a fresh process serving every page `rounds` times, as one web worker does."""
    import subprocess

    command = [sys.executable, str(ROOT / "bench" / "worker.py"), url, json.dumps(pages), str(rounds)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603 - our own script
    return round(int(done.stdout.strip().splitlines()[-1]) / 1024)


def main() -> None:
    """Build, measure, print, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--database-url")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the data already in --database-url (built by an earlier run) instead of rebuilding")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/province.db"
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    started = time.perf_counter()
    rows = existing(app) if args.reuse and args.database_url else None
    reused = rows is not None
    if rows is None:
        rows = build(app, args.scale, args.seed)
        add_targets(app)
    build_s = time.perf_counter() - started
    s = pick_subjects(app)
    database = url.split(":")[0].split("+")[0]
    results = {"scale": args.scale, "rows": rows, "database": database, "build_seconds": round(build_s, 1),
               "subjects": s, "runs": args.runs, "targets": {"page_p95_ms": PAGE_TARGET_MS,
                                                             "dashboard_p95_ms": DASHBOARD_TARGET_MS},
               "scenarios": {}}
    print(f"province benchmark: scale {args.scale} on {database} "
          + ("(reused) " if reused else f"(built in {build_s:.1f} s) ")
          + ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in rows.items()))
    rollup_ms = rollups_apart(app)
    print(f"scheduled roll-ups: visits and needs {rollup_ms['activity']} ms (every 10 minutes), "
          f"forecast candidates {rollup_ms['forecast']} ms (hourly), held tiers at risk {rollup_ms['at_risk']} ms "
          f"(hourly), every policy matched {rollup_ms['policy_matches']} ms (nightly), every enterprise ranked "
          f"for every tier {rollup_ms['candidate_ranks']} ms (nightly)")
    results["rollup_ms"] = rollup_ms
    gc.collect()
    gc.freeze()  # as wsgi.py does in a web worker once it has started (its full collections took 170 ms mid-page)
    print(f"{'page (server time)':60} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}  target")
    for name, user, path, targeted in scenarios_of(s):
        # "#live": the roll-ups taken as stale, as when the scheduler is not running
        live = path.endswith("#live")
        app.config.update(PIPELINE_ROLLUP_MAX_AGE=0 if live else 30, PIPELINE_FORECAST_MAX_AGE=0 if live else 120)
        path = path.removesuffix("#live")
        r = measure(app, user, path, args.runs)
        goal = (DASHBOARD_TARGET_MS if path == "/pipeline" else PAGE_TARGET_MS) if targeted else None
        verdict = "" if goal is None else (f"≤ {goal} met" if r["p95_ms"] <= goal else f"≤ {goal} MISSED")
        results["scenarios"][name] = {"url": path, "user": user, "target_p95_ms": goal, **r}
        scans = f"  seq scan: {', '.join(r['seq_scans'])}" if r["seq_scans"] else ""
        print(f"{name:60} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['max_ms']:8.1f} {r['queries']:8d}  {verdict}{scans}")
    app.config.update(PIPELINE_ROLLUP_MAX_AGE=30, PIPELINE_FORECAST_MAX_AGE=120)
    engine = measure_engine(app, args.runs)
    results["engine"] = engine
    print(f"rules evaluations per second (every enterprise × 5 tiers, {engine['evaluations']:,}; verdicts and rank "
          f"keys, as the nightly ranking): {engine['evaluations_per_s']:,}  target ≥ 50,000 "
          + ("met" if engine["evaluations_per_s"] >= 50_000 else "MISSED"))
    print(f"  full results with every criterion's entry and texts (as a page or the API): {engine['results_per_s']:,}")
    print(f"profiles built per second: {engine['profiles_built_per_s']:,}")
    print(f"one readiness sheet: p50 {engine['sheet_one']['p50_ms']} ms, p95 {engine['sheet_one']['p95_ms']} ms"
          f"  target ≤ 300 " + ("met" if engine["sheet_one"]["p95_ms"] <= 300 else "MISSED"))
    print(f"100 readiness sheets in a batch: {engine['sheet_batch_100_s']} s")
    results["at_risk"] = measure_at_risk(app, s, args.runs)
    for label, r in results["at_risk"].items():
        print(f"held tiers at risk, {label}: {r['certifications_checked']:,} valid certifications checked, "
              f"{r['listed']:,} listed, counted on the stored ranks in {r['seconds']} s"
              + (f" (evaluated live: {r['live_seconds']} s)" if "live_seconds" in r else ""))
    pages = [(user, path.removesuffix("#live")) for _n, user, path, targeted in scenarios_of(s) if targeted]
    results["worker_peak_mb"] = worker_memory(url, pages)
    print(f"peak memory of a web worker serving those pages: {results['worker_peak_mb']} MB  target ≤ 250 "
          + ("met" if results["worker_peak_mb"] <= 250 else "MISSED"))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"province-{database}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(f"written to bench/results/province-{database}.json")


if __name__ == "__main__":
    main()
