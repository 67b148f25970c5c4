"""`flask backup` / `flask restore`: a round trip brings back exactly what was backed up.

The SQLite round trip always runs (on its own scratch database); the round trip on the backend in use
runs on whichever the suite runs on (SQLite file, or PostgreSQL through pg_dump/pg_restore when
TEST_DATABASE_URL is set — `make test` runs both).
"""
from __future__ import annotations

import os
import sqlite3

import pytest
from sqlalchemy import select

from crm import create_app
from crm.enterprises.models import Region
from crm.ops import backup as ops


def _backend_in_use() -> str:
    return "postgresql" if os.environ.get("TEST_DATABASE_URL", "").startswith("postgres") else "sqlite"


def _codes(db) -> list[str]:
    return sorted(db.session.scalars(select(Region.code)))


def _round_trip(app, db, tmp_path, file_name):
    runner = app.test_cli_runner()
    db.session.add(Region(code="640000", name="宁夏回族自治区", level="province"))
    db.session.commit()
    done = runner.invoke(args=["backup", str(tmp_path / file_name)])
    assert done.exit_code == 0, done.output
    written = done.output.strip().splitlines()[-1]
    assert os.path.getsize(written) > 0

    # after the backup: one region renamed away, another added
    db.session.execute(Region.__table__.delete())
    db.session.add(Region(code="999999", name="备份之后", level="province"))
    db.session.commit()
    assert _codes(db) == ["999999"]

    refused = runner.invoke(args=["restore", written])
    assert refused.exit_code == 2 and "--yes" in refused.output
    db.session.remove()
    assert _codes(db) == ["999999"]  # nothing changed without --yes

    db.session.remove()
    done = runner.invoke(args=["restore", written, "--yes"])
    assert done.exit_code == 0, done.output
    db.session.remove()
    assert _codes(db) == ["640000"]
    return written


@pytest.mark.parametrize("backend", [_backend_in_use()])
def test_round_trip_on_the_backend_in_use(backend, app, db, tmp_path):
    assert db.engine.dialect.name == backend
    written = _round_trip(app, db, tmp_path, "miaopu.backup")
    with open(written, "rb") as f:
        magic = f.read(16)
    assert magic.startswith(b"PGDMP" if backend == "postgresql" else b"SQLite format 3")


def test_sqlite_round_trip_online_backup(tmp_path):
    """A scratch SQLite database (whatever the suite runs on): backup into a folder, timestamped name."""
    from flask_migrate import upgrade

    from crm.extensions import db

    scratch = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'live.db'}")
    with scratch.app_context():
        upgrade()
        folder = tmp_path / "backups"
        folder.mkdir()
        written = _round_trip(scratch, db, folder, "")  # "" → the folder itself: a timestamped file in it
        assert os.path.basename(written).startswith("miaopu-") and written.endswith(".sqlite3")
        conn = sqlite3.connect(written)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_file_that_is_not_a_backup(app, db, tmp_path):
    if db.engine.dialect.name != "sqlite":  # pg_restore refuses such a file by itself, tested by its authors
        url = f"sqlite:///{tmp_path / 'other.db'}"
        sqlite3.connect(str(tmp_path / "other.db")).close()
    else:
        url = db.engine.url.render_as_string(hide_password=False)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ops.BackupError, match="not"):
        ops.restore(url, junk)
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(str(empty)).close()
    with pytest.raises(ops.BackupError, match="not a complete Miaopu backup"):
        ops.restore(url, empty)


def test_postgresql_without_pg_dump_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(ops.shutil, "which", lambda name: None)
    with pytest.raises(ops.BackupError, match="pg_dump was not found.*postgresql-client"):
        ops.backup("postgresql+psycopg://postgres@127.0.0.1:5432/x", tmp_path / "x.dump")
    with pytest.raises(ops.BackupError, match="pg_restore was not found"):
        (tmp_path / "x.dump").write_bytes(b"PGDMP")
        ops.restore("postgresql+psycopg://postgres@127.0.0.1:5432/x", tmp_path / "x.dump")
    assert not (tmp_path / "x.dump.part").exists()


def test_the_password_is_not_on_the_command_line():
    args, env = ops._pg_args("postgresql+psycopg://miaopu:s3cret@db.example:5433/miaopu")
    assert "s3cret" not in " ".join(args)
    assert env["PGPASSWORD"] == "s3cret"
    assert args == ["--dbname", "miaopu", "--host", "db.example", "--port", "5433", "--username", "miaopu"]
