"""Load: 50 signed-in users (the demo's officers and managers) against gunicorn on PostgreSQL (`make soak`).

    .venv/bin/python tests/load/soak.py [--duration 300] [--users 50] [--database-url URL] [--no-prepare]

Officers (70 %) go round their day: the workbench, an enterprise they serve, recording a visit there
(the form read, then posted with its CSRF token), the needs board. Managers (30 %): the dashboard,
the targets, a registry search. Each user waits 0.5–1.5 s between pages (--think). The database
(default miaopu_soak on the local PostgreSQL) is recreated with the demo data unless --no-prepare.
Prints requests, errors and p50/p95 per page; exit 1 when any request failed.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.load.common import (  # noqa: E402 - the repository root is put on the path first
    MANAGERS,
    OFFICERS,
    csrf_of,
    prepare,
    psql_url,
    sign_in,
    start_gunicorn,
    stop,
)

SEARCHES = ["科技", "新材料", "智能", "宁夏", "银川", "装备", "生物", "光伏", "信息", ""]


class Stats:
    """Latencies and failures per page."""

    def __init__(self):
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []

    async def hit(self, client: httpx.AsyncClient, page: str, method: str, url: str, *, expect=(200,), **kwargs):
        began = time.perf_counter()
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self.errors[page] += 1
            self.latency[page].append(time.perf_counter() - began)
            if len(self.samples) < 10:
                self.samples.append(f"{page} {url}: {type(exc).__name__}")
            return None
        self.latency[page].append(time.perf_counter() - began)
        if response.status_code not in expect:
            self.errors[page] += 1
            if len(self.samples) < 10:
                self.samples.append(f"{page} {url}: {response.status_code}")
        return response


def _pct(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def officer(base, username, enterprises, deadline, stats: Stats, rng: random.Random, think):
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await sign_in(client, username)
        pages = ["workbench"] * 3 + ["enterprise"] * 3 + ["visit"] + ["needs board"] * 2
        while time.monotonic() < deadline:
            page = rng.choice(pages)
            eid = rng.choice(enterprises)
            if page == "workbench":
                await stats.hit(client, page, "GET", "/workbench")
            elif page == "enterprise":
                await stats.hit(client, page, "GET", f"/enterprises/{eid}")
            elif page == "needs board":
                await stats.hit(client, page, "GET", "/needs")
            else:
                form = await stats.hit(client, "visit form", "GET", f"/visits/new?enterprise={eid}")
                if form is not None and form.status_code == 200:
                    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
                    await stats.hit(client, "visit (post)", "POST", "/visits/new", expect=(303,), data={
                        "csrf_token": csrf_of(form.text), "enterprise_id": str(eid), "visited_on": today,
                        "mode": "onsite", "people_met": "张总（总经理）", "summary": f"例行走访（压测 {username}）"})
            await asyncio.sleep(think * (0.5 + rng.random()))


async def manager(base, username, deadline, stats: Stats, rng: random.Random, think):
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await sign_in(client, username)
        pages = ["dashboard"] * 3 + ["targets"] * 2 + ["registry search"] * 3
        while time.monotonic() < deadline:
            page = rng.choice(pages)
            if page == "dashboard":
                await stats.hit(client, page, "GET", "/pipeline")
            elif page == "targets":
                await stats.hit(client, page, "GET", "/pipeline/targets")
            else:
                params = {"q": rng.choice(SEARCHES)}
                if rng.random() < 0.3:
                    params["page"] = str(rng.randint(1, 3))
                await stats.hit(client, page, "GET", "/enterprises", params=params)
            await asyncio.sleep(think * (0.5 + rng.random()))


def _served(database_url: str) -> dict[str, list[int]]:
    import psycopg

    with psycopg.connect(psql_url(database_url)) as conn:
        rows = conn.execute(
            "SELECT u.username, e.id FROM assignments a JOIN users u ON u.id = a.officer_id "
            "JOIN enterprises e ON e.id = a.enterprise_id WHERE a.ends_on IS NULL AND e.archived_at IS NULL "
            "AND u.username = ANY(%s)", (OFFICERS,)).fetchall()
    served: dict[str, list[int]] = defaultdict(list)
    for username, eid in rows:
        served[username].append(eid)
    return served


async def run(base: str, database_url: str, args) -> Stats:
    stats = Stats()
    served = _served(database_url)
    officers = [name for name in OFFICERS if served.get(name)]
    n_officers = round(args.users * 0.7)
    deadline = time.monotonic() + args.duration
    users = []
    for i in range(args.users):
        rng = random.Random(args.seed + i)  # noqa: S311 - a reproducible mix, not secrets
        if i < n_officers:
            name = officers[i % len(officers)]
            users.append(officer(base, name, served[name], deadline, stats, rng, args.think))
        else:
            users.append(manager(base, MANAGERS[i % len(MANAGERS)], deadline, stats, rng, args.think))
    await asyncio.gather(*users)
    return stats


def report(stats: Stats, seconds: float, args) -> int:
    total = sum(len(v) for v in stats.latency.values())
    errors = sum(stats.errors.values())
    print(f"\n{args.users} users, {seconds:.0f} s, gunicorn {args.workers} workers × {args.threads} threads "
          f"(keep-alive {args.keep_alive} s), "
          f"think {args.think} s: {total} requests ({total / seconds:.1f}/s), {errors} errors")
    print(f"{'page':<18}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    everything = []
    for page in sorted(stats.latency):
        values = stats.latency[page]
        everything += values
        print(f"{page:<18}{len(values):>9}{stats.errors[page]:>8}{_pct(values, 50) * 1000:>9.0f}"
              f"{_pct(values, 95) * 1000:>9.0f}{max(values) * 1000:>9.0f}")
    if everything:
        print(f"{'all':<18}{len(everything):>9}{errors:>8}{_pct(everything, 50) * 1000:>9.0f}"
              f"{_pct(everything, 95) * 1000:>9.0f}{max(everything) * 1000:>9.0f}")
    for line in stats.samples:
        print("  error:", line)
    return 1 if errors or not total else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds (default 300)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between a user's pages")
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/miaopu_soak")
    parser.add_argument("--no-prepare", action="store_true", help="use the database as it is")
    parser.add_argument("--port", type=int, default=5098)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--keep-alive", type=int, default=5, help="gunicorn --keep-alive seconds")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        parser.error("the soak runs against PostgreSQL (--database-url postgresql+psycopg://…)")
    if not args.no_prepare:
        print(f"preparing {args.database_url} (migrations, demo data)…", flush=True)
        prepare(args.database_url)
    server = start_gunicorn(args.database_url, args.port, workers=args.workers, threads=args.threads,
                            keep_alive=args.keep_alive,
                            log=Path("/tmp/miaopu-soak-gunicorn.log"))  # noqa: S108 - a scratch log
    try:
        print(f"gunicorn on :{args.port}; {args.users} users for {args.duration:.0f} s…", flush=True)
        began = time.monotonic()
        stats = asyncio.run(run(f"http://127.0.0.1:{args.port}", args.database_url, args))
        seconds = time.monotonic() - began
    finally:
        stop(server)
    return report(stats, seconds, args)


if __name__ == "__main__":
    raise SystemExit(main())
