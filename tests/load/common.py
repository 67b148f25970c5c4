"""What the load and fault scripts share: a scratch PostgreSQL database with the demo data, gunicorn
serving the app on it (production settings), signing in through the real form with its CSRF token."""
from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess  # noqa: S404 - starts gunicorn and flask with argument lists, never a shell
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEMO_PASSWORD = "miaopu2026"  # crm/demo/accounts.py
OFFICERS = ["officer", "officer_xingqing", "officer_xixia", "officer_dawukou", "officer_litong",
            "officer_yuanzhou", "officer_shapotou"]
MANAGERS = ["manager", "manager_szs"]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def app_env(database_url: str) -> dict:
    """The environment of a production-like run: real secret key, cookies over plain http (localhost)."""
    env = dict(os.environ)
    env.update(DATABASE_URL=database_url, MIAOPU_ENV="production", SECRET_KEY=secrets.token_hex(32),
               SESSION_COOKIE_SECURE="0", PYTHONUNBUFFERED="1")
    return env


def psql_url(database_url: str) -> str:
    """The libpq form of a SQLAlchemy URL (for psycopg.connect)."""
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def recreate_database(database_url: str) -> None:
    """Drop and create the database named by the URL (connecting to `postgres` on the same server)."""
    import psycopg

    base, name = psql_url(database_url).rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def prepare(database_url: str, *, demo: bool = True) -> None:
    """A fresh database at the migrations' head, with the demo data."""
    recreate_database(database_url)
    env = app_env(database_url)
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603
    if demo:
        subprocess.run([*flask, "demo", "load"], cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603


def start_gunicorn(database_url: str, port: int, *, workers: int = 3, threads: int = 4, keep_alive: int = 5,
                   log: Path | None = None) -> subprocess.Popen:
    """gunicorn serving wsgi:app on 127.0.0.1:port (gthread workers); waits until /healthz answers."""
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(  # noqa: S603
        [str(BIN / "gunicorn"), "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
         "--bind", f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "5",
         # longer than a user's pause between pages: gunicorn's default (2 s) closes idle connections just as
         # a client reuses them, which the client sees as a dropped request (httpx ReadError)
         "--keep-alive", str(keep_alive), "wsgi:app"],
        cwd=ROOT, env=app_env(database_url), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode} (see {log})")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop(process)
    raise RuntimeError("gunicorn did not answer /healthz within 60 s")


def stop(process: subprocess.Popen) -> None:
    """Stop gunicorn (the master and its workers: its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def csrf_of(page: str) -> str:
    """The CSRF token of a page's form."""
    found = CSRF.search(page)
    if not found:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in through the form (as a browser would); returns the session's CSRF token."""
    page = await client.get("/login")
    response = await client.post("/login", data={"username": username, "password": password,
                                                 "csrf_token": csrf_of(page.text)})
    if response.status_code != 303:
        raise RuntimeError(f"sign-in of {username} answered {response.status_code}")
    home = await client.get("/account")
    return csrf_of(home.text)
