"""Backups of the database and their restore.

SQLite: an online copy through sqlite3's backup API (consistent while the app keeps serving);
restore copies a backup back the same way. PostgreSQL: `pg_dump -Fc` (custom format) and
`pg_restore --clean --if-exists --single-transaction`; both tools must be installed (Debian:
postgresql-client, same major version as the server or newer).
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # noqa: S404 - runs pg_dump / pg_restore with an argument list, never a shell
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from crm.core import clock
from crm.core.db import utcnow


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def default_name(dialect: str, now: datetime | None = None) -> str:
    """miaopu-20261125-153000.sqlite3 / .dump: the bureau's local time, sortable."""
    now = (now or utcnow()).astimezone(clock.zone())
    return f"miaopu-{now:%Y%m%d-%H%M%S}.{'sqlite3' if dialect == 'sqlite' else 'dump'}"


def target_path(url: str, path: str | None, instance_dir: str) -> Path:
    """Where a backup goes: PATH as given, a timestamped file inside PATH when it is a folder,
    else instance/backups/<timestamped file>."""
    dialect = make_url(url).get_backend_name()
    if path is None:
        folder = Path(instance_dir) / "backups"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / default_name(dialect)
    target = Path(path)
    if target.is_dir():
        return target / default_name(dialect)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return Path(database)


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} was not found on PATH. Install the PostgreSQL client tools "
                          f"(Debian: apt-get install postgresql-client) of the server's major version or newer.")
    return found


def _pg_args(url: str) -> tuple[list[str], dict]:
    """Connection arguments for the libpq tools; the password goes in the environment, not the command line."""
    u = make_url(url)
    args = ["--dbname", u.database or ""]
    if u.host:
        args += ["--host", u.host]
    if u.port:
        args += ["--port", str(u.port)]
    if u.username:
        args += ["--username", u.username]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    return args, env


def backup(url: str, target: Path) -> Path:
    """Write a backup of the database at `url` to `target`; returns the file written."""
    dialect = make_url(url).get_backend_name()
    if dialect == "sqlite":
        source = sqlite3.connect(str(_sqlite_file(url)))
        partial = target.with_name(target.name + ".part")
        copy = sqlite3.connect(str(partial))
        try:
            with copy:
                source.backup(copy)  # page by page, consistent, while others keep writing
        finally:
            copy.close()
            source.close()
        partial.replace(target)  # a crash mid-copy never leaves a file that looks complete
        return target
    if dialect == "postgresql":
        args, env = _pg_args(url)
        partial = target.with_name(target.name + ".part")
        done = subprocess.run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(partial), *args],  # noqa: S603
                              env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        partial.replace(target)
        return target
    raise BackupError(f"Backups of {dialect} databases are not supported.")


def restore(url: str, source: Path) -> None:
    """Replace the database at `url` by the backup `source`. Stop the app and the scheduler first."""
    if not source.is_file():
        raise BackupError(f"No backup file at {source}.")
    dialect = make_url(url).get_backend_name()
    if dialect == "sqlite":
        _check_sqlite_backup(source)
        backup_db = sqlite3.connect(str(source))
        live = sqlite3.connect(str(_sqlite_file(url)))
        try:
            with live:
                backup_db.backup(live)  # replaces every page of the live file in one go
        finally:
            live.close()
            backup_db.close()
        return
    if dialect == "postgresql":
        args, env = _pg_args(url)
        done = subprocess.run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",  # noqa: S603
                               "--single-transaction", "--exit-on-error", *args, str(source)],
                              env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed (nothing was changed): {done.stderr.strip()}")
        return
    raise BackupError(f"Restores of {dialect} databases are not supported.")


def _check_sqlite_backup(source: Path) -> None:
    """Refuse a file that is not a Miaopu SQLite database before it overwrites anything."""
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            has_schema = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a SQLite database ({exc}).") from None
    if not ok or not has_schema:
        raise BackupError(f"{source} is not a complete Miaopu backup (integrity check or schema missing).")
