"""Fault: PostgreSQL restarted in the middle of a stream of writes (run by hand; not part of `make test`).

    .venv/bin/python tests/faults/pg_restart.py                  # a throwaway cluster of its own (safe)
    .venv/bin/python tests/faults/pg_restart.py --cluster main   # restarts the machine's PostgreSQL 15/main!

It starts gunicorn (production settings) on a scratch database with the demo data, drives writes
(officers raising needs through the web form, with CSRF, and through the JSON API with a token) and
reads (the registry page), restarts PostgreSQL with `pg_ctlcluster VERSION NAME restart` after
--before seconds, keeps going for --after seconds, then checks:

1. every failed request is a 503: the HTML page with its message (no stack trace), JSON under /api;
2. the app recovers by itself: a request succeeds again within --recover seconds of the restart (pool_pre_ping);
3. every acknowledged write (303 from the form, 201 from the API) is in the database afterwards.

Without --cluster it creates the cluster 15/miaopu_faults on --port (trust authentication on
127.0.0.1), and drops it at the end: other users of the machine's PostgreSQL are not disturbed.
Exit 0 when all three hold, 1 otherwise; the figures are printed either way.
"""
from __future__ import annotations

import argparse
import asyncio
import subprocess  # noqa: S404 - pg_ctlcluster, flask: argument lists, never a shell
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.load.common import (  # noqa: E402 - the repository root is put on the path first
    BIN,
    OFFICERS,
    ROOT,
    app_env,
    prepare,
    psql_url,
    sign_in,
    start_gunicorn,
    stop,
)

MESSAGE_EN = "The database cannot be reached for a moment"
MESSAGE_ZH_HINT = "503"


@dataclass
class Tally:
    """What happened, request by request."""

    statuses: Counter = field(default_factory=Counter)
    acknowledged: list = field(default_factory=list)  # titles of the needs the app said it saved
    bad_failures: list = field(default_factory=list)  # failures that were not a clear 503
    client_errors: Counter = field(default_factory=Counter)  # no HTTP answer at all
    first_failure: float | None = None
    last_failure: float | None = None
    first_success_after_failure: float | None = None

    def ok(self, now: float) -> None:
        if self.first_failure is not None and self.first_success_after_failure is None:
            self.first_success_after_failure = now

    def failed(self, now: float) -> None:
        self.first_failure = self.first_failure or now
        self.last_failure = now


def _check_503(response: httpx.Response, tally: Tally, where: str) -> None:
    body = response.text
    if response.status_code != 503:
        tally.bad_failures.append(f"{where}: {response.status_code} {body[:200]!r}")
    elif "Traceback" in body or "OperationalError" in body:
        tally.bad_failures.append(f"{where}: 503 showing a stack trace")
    elif where.startswith("api"):
        if response.headers.get("content-type", "").split(";")[0] != "application/json" or \
                response.json().get("error", {}).get("code") != 503:
            tally.bad_failures.append(f"{where}: 503 without its JSON body")
    elif MESSAGE_ZH_HINT not in body:
        tally.bad_failures.append(f"{where}: 503 without its page")


async def form_writer(base: str, username: str, enterprise_id: int, n: int, stop_at: float, tally: Tally):
    """An officer raising needs through the web form, one after another."""
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        token = await sign_in(client, username)
        i = 0
        while time.monotonic() < stop_at:
            i += 1
            title = f"fault-form-{n}-{i}"
            url = f"/enterprises/{enterprise_id}/needs/new"
            try:
                response = await client.post(url, data={"csrf_token": token, "category": "finance", "title": title,
                                                        "description": "restart test"})
            except httpx.HTTPError as exc:
                tally.client_errors[type(exc).__name__] += 1
                tally.failed(time.monotonic())
                await asyncio.sleep(0.2)
                continue
            now = time.monotonic()
            tally.statuses[("form", response.status_code)] += 1
            if response.status_code == 303:
                tally.acknowledged.append(title)
                tally.ok(now)
            else:
                tally.failed(now)
                _check_503(response, tally, f"form {url}")
                await asyncio.sleep(0.2)


async def api_writer(base: str, token: str, uscc: str, n: int, stop_at: float, tally: Tally):
    """A system raising needs through the JSON API with a bearer token."""
    async with httpx.AsyncClient(base_url=base, timeout=20, headers={"Authorization": f"Bearer {token}"}) as client:
        i = 0
        while time.monotonic() < stop_at:
            i += 1
            title = f"fault-api-{n}-{i}"
            try:
                response = await client.post("/api/v1/needs", json={"uscc": uscc, "category": "finance",
                                                                    "title": title})
            except httpx.HTTPError as exc:
                tally.client_errors[type(exc).__name__] += 1
                tally.failed(time.monotonic())
                await asyncio.sleep(0.2)
                continue
            now = time.monotonic()
            tally.statuses[("api", response.status_code)] += 1
            if response.status_code == 201:
                tally.acknowledged.append(title)
                tally.ok(now)
            else:
                tally.failed(now)
                _check_503(response, tally, "api /api/v1/needs")
                await asyncio.sleep(0.2)


async def reader(base: str, username: str, stop_at: float, tally: Tally):
    """A manager paging through the registry."""
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        await sign_in(client, username)
        while time.monotonic() < stop_at:
            try:
                response = await client.get("/enterprises?q=科技")
            except httpx.HTTPError as exc:
                tally.client_errors[type(exc).__name__] += 1
                tally.failed(time.monotonic())
                await asyncio.sleep(0.2)
                continue
            now = time.monotonic()
            tally.statuses[("page", response.status_code)] += 1
            if response.status_code == 200:
                tally.ok(now)
            else:
                tally.failed(now)
                _check_503(response, tally, "page /enterprises")
                await asyncio.sleep(0.2)


def _served(database_url: str) -> list[tuple[str, int, str]]:
    """(officer, an enterprise it serves now, that enterprise's USCC) for each demo officer."""
    import psycopg

    with psycopg.connect(psql_url(database_url)) as conn:
        rows = conn.execute(
            "SELECT DISTINCT ON (u.username) u.username, e.id, e.uscc FROM assignments a "
            "JOIN users u ON u.id = a.officer_id JOIN enterprises e ON e.id = a.enterprise_id "
            "WHERE a.ends_on IS NULL AND e.archived_at IS NULL AND u.username = ANY(%s) ORDER BY u.username, e.id",
            (OFFICERS,)).fetchall()
    return [tuple(r) for r in rows]


def _api_token(database_url: str, username: str) -> str:
    done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "users", "token", "create", username,  # noqa: S603
                           "--name", "fault test"], cwd=ROOT, env=app_env(database_url), check=True,
                          capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def _saved_titles(database_url: str) -> set[str]:
    import psycopg

    with psycopg.connect(psql_url(database_url)) as conn:
        return {r[0] for r in conn.execute("SELECT title FROM needs WHERE title LIKE 'fault-%'")}


async def drive(base: str, database_url: str, args, restart_cmd: list[str]) -> tuple[Tally, float, float]:
    tally = Tally()
    served = _served(database_url)
    token = _api_token(database_url, served[0][0])
    start = time.monotonic()
    stop_at = start + args.before + args.after
    tasks = [form_writer(base, name, eid, n, stop_at, tally) for n, (name, eid, _u) in enumerate(served)]
    tasks += [api_writer(base, token, served[0][2], n, stop_at, tally) for n in range(args.api_writers)]
    tasks += [reader(base, "manager", stop_at, tally)]

    async def restart():
        await asyncio.sleep(args.before)
        began = time.monotonic()
        proc = await asyncio.create_subprocess_exec(*restart_cmd)
        await proc.wait()
        return began, time.monotonic()

    results = await asyncio.gather(restart(), *tasks)
    began, ended = results[0]
    return tally, start, began, ended


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cluster", default=None, help="restart this existing cluster (e.g. main) instead of a "
                        "throwaway one: it disturbs everyone using it")
    parser.add_argument("--version", default="15", help="PostgreSQL major version (pg_ctlcluster)")
    parser.add_argument("--port", type=int, default=5499, help="port of the throwaway cluster")
    parser.add_argument("--app-port", type=int, default=5097)
    parser.add_argument("--before", type=float, default=6.0, help="seconds of writes before the restart")
    parser.add_argument("--after", type=float, default=14.0, help="seconds of writes after the restart began")
    parser.add_argument("--recover", type=float, default=10.0, help="seconds allowed to recover after the restart")
    parser.add_argument("--api-writers", type=int, default=3)
    args = parser.parse_args(argv)

    throwaway = args.cluster is None
    name = args.cluster or "miaopu_faults"
    if throwaway:
        subprocess.run(["pg_dropcluster", "--stop", args.version, name], capture_output=True, check=False)  # noqa: S603, S607
        subprocess.run(["pg_createcluster", args.version, name, "--port", str(args.port), "--start", "--",  # noqa: S603, S607
                        "--auth-local=trust", "--auth-host=trust"], check=True, capture_output=True)
        port = args.port
    else:
        port = int(subprocess.run(["pg_conftool", args.version, name, "show", "port"], check=True,  # noqa: S603, S607
                                  capture_output=True, text=True).stdout.split("=")[1].strip())
    database_url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/miaopu_faults"
    restart_cmd = ["pg_ctlcluster", args.version, name, "restart"]
    log = Path("/tmp/miaopu-faults-gunicorn.log")  # noqa: S108 - a scratch log of a hand-run script
    server = None
    try:
        print(f"preparing {database_url} (migrations, demo data)…", flush=True)
        prepare(database_url)
        server = start_gunicorn(database_url, args.app_port, log=log)
        print(f"gunicorn on :{args.app_port}; writing for {args.before}s, then `{' '.join(restart_cmd)}`, "
              f"writing {args.after}s more", flush=True)
        tally, start, began, ended = asyncio.run(drive(f"http://127.0.0.1:{args.app_port}", database_url, args,
                                                            restart_cmd))
        saved = _saved_titles(database_url)
    finally:
        if server is not None:
            stop(server)
        if throwaway:
            subprocess.run(["pg_dropcluster", "--stop", args.version, name], capture_output=True, check=False)  # noqa: S603, S607

    lost = [t for t in tally.acknowledged if t not in saved]
    failed = sum(n for (_kind, status), n in tally.statuses.items() if status not in (200, 201, 303))
    total = sum(tally.statuses.values()) + sum(tally.client_errors.values())
    outage = (tally.last_failure - tally.first_failure) if tally.first_failure else 0.0
    # recovery: from PostgreSQL being back (the restart command returned) to the last failed request
    recovered_after = max(0.0, tally.last_failure - ended) if tally.last_failure else 0.0
    print(f"requests: {total}, answered: {dict(sorted((f'{k}:{s}', n) for (k, s), n in tally.statuses.items()))}")
    print(f"no answer at all (connection errors): {dict(tally.client_errors) or 0}")
    print(f"restart began {began - start:.1f}s into the run and took {ended - began:.2f}s")
    print(f"failed requests: {failed}, all clear 503s: {not tally.bad_failures}")
    for line in tally.bad_failures[:10]:
        print(f"  not a clear 503: {line}")
    print(f"failures spanned {outage:.2f}s; the last failure came {recovered_after:.2f}s after PostgreSQL was back; "
          f"every request after it succeeded")
    print(f"acknowledged writes: {len(tally.acknowledged)}, found afterwards: {len(tally.acknowledged) - len(lost)}, "
          f"lost: {len(lost)}")
    ok = (not tally.bad_failures and not lost and not tally.client_errors
          and recovered_after <= args.recover and bool(tally.acknowledged))
    print("RESULT:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
