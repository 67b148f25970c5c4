"""`flask --app wsgi backup [PATH]` and `flask --app wsgi restore PATH --yes`.

    flask --app wsgi backup                    # instance/backups/miaopu-YYYYMMDD-HHMMSS.sqlite3 (or .dump on PostgreSQL)
    flask --app wsgi backup /srv/backups/      # a timestamped file in that folder
    flask --app wsgi backup nightly.dump       # exactly that file
    flask --app wsgi restore nightly.dump --yes

Exit 0 with the file's path on stdout; 2 with the reason on stderr when it cannot be done.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from crm.extensions import db
from crm.ops import backup as ops


def _fail(reason: str):
    click.echo(reason, err=True)
    raise SystemExit(2)


def _url() -> str:
    return db.engine.url.render_as_string(hide_password=False)


@click.command("backup")
@click.argument("path", required=False)
@with_appcontext
def backup_command(path: str | None):
    """Back up the database (SQLite: online copy; PostgreSQL: pg_dump -Fc) to PATH or instance/backups/."""
    try:
        target = ops.target_path(_url(), path, current_app.instance_path)
        written = ops.backup(_url(), target)
    except ops.BackupError as exc:
        _fail(str(exc))
    click.echo(str(written))


@click.command("restore")
@click.argument("path")
@click.option("--yes", is_flag=True, help="Confirm: the database is replaced by the backup.")
@with_appcontext
def restore_command(path: str, yes: bool):
    """Replace the database by a backup made with `flask backup` (stop the app and the scheduler first)."""
    if not yes:
        _fail(f"This replaces every row of {db.engine.url.render_as_string(hide_password=True)} "
              f"with the backup {path}. Stop the app and the scheduler, then run again with --yes.")
    db.session.remove()
    db.engine.dispose()  # no pooled connection may hold the tables being replaced
    try:
        ops.restore(_url(), Path(path))
    except ops.BackupError as exc:
        _fail(str(exc))
    db.engine.dispose()
    click.echo(f"restored from {path}")
