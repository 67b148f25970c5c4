"""`flask --app wsgi backup [PATH]`, `flask --app wsgi restore PATH --yes` and `flask --app wsgi pdf-fonts`.

    flask --app wsgi backup                    # instance/backups/miaopu-YYYYMMDD-HHMMSS.sqlite3 (or .dump on PostgreSQL)
    flask --app wsgi backup /srv/backups/      # a timestamped file in that folder
    flask --app wsgi backup nightly.dump       # exactly that file
    flask --app wsgi restore nightly.dump --yes

Exit 0 with the file's path on stdout; 2 with the reason on stderr when it cannot be done.
`pdf-fonts` builds the PDFs' Chinese font subset once per server (crm.core.fonts).
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


@click.command("pdf-fonts")
@click.option("--force", is_flag=True, help="Build again even when the subset is there.")
@with_appcontext
def pdf_fonts_command(force: bool):
    """Build the PDFs' Chinese font subset (crm.core.fonts) into PDF_FONT_DIR (default instance/fonts)."""
    import time

    from crm.core.fonts import build, subset_faces
    from crm.core.pdf import font_dir

    folder = font_dir()
    if subset_faces(folder) and not force:
        click.echo(f"The font subset is already built in {folder}.")
        return
    began = time.perf_counter()
    try:
        files = build(folder)
    except FileNotFoundError as missing:
        raise click.ClickException(str(missing)) from None
    sizes = ", ".join(f"{f.name} {f.stat().st_size / 1e6:.1f} MB" for f in files)
    click.echo(f"Built {sizes} in {folder} ({time.perf_counter() - began:.0f} s).")
