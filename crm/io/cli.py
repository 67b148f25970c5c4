"""`flask import KIND FILE` and `flask export KIND FILE`: the web's import and export from the command line.

    flask --app wsgi import enterprises 名单.xlsx [--dry-run] [--all-or-nothing] [--format text|json] [--user NAME]
    flask --app wsgi export enterprises out.xlsx [--region 640106] [--tier high_tech] [--q 智能] [--user NAME]

The import runs the same service as the upload page (crm.io.services.import_table) in one transaction:
--dry-run rolls it back (nothing written), --all-or-nothing rolls it back when any row is rejected.
Exit 0 when the file was read (whatever was rejected), 2 when it could not be read, the reason on stderr.
Without --user the command line acts as the system (every region); with it, within that user's scope.
A real (not dry) run is recorded in the import history like an upload.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from crm.extensions import db
from crm.io.models import ImportKind, ImportStatus


def _fail(reason: str):
    click.echo(reason, err=True)
    raise SystemExit(2)


def _user(username: str | None):
    from crm.auth.models import User

    if not username:
        return None
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None or not user.is_active:
        _fail(f"no active user named {username!r}")
    return user


@click.command("import", help="Import enterprises, figures, ip or certifications from an .xlsx or .csv file.")
@click.argument("kind", type=click.Choice([k.value for k in ImportKind]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--all-or-nothing", is_flag=True, help="Write nothing when any row is rejected.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--user", "username", help="Import as this user (their scope); default: the system.")
@click.option("--source", "figure_source", type=click.Choice(["import", "tax", "statistics"]), default="import",
              show_default=True, help="Figures only: where the file's figures come from (税务 tax, 统计 statistics).")
@with_appcontext
def import_command(kind: str, file: Path, dry_run: bool, all_or_nothing: bool, fmt: str, username: str | None,
                   figure_source: str = "import"):
    """Import FILE (upsert by USCC, and year for figures); report every rejected row."""
    from crm.io import services
    from crm.io.documents import FileRefused, read_table

    user = _user(username)
    actor = user or "cli"
    began = time.perf_counter()
    table = None
    job = None
    try:
        if not dry_run:
            data = file.read_bytes()
            job = services.new_job(kind, file.name, data, actor=actor, all_or_nothing=all_or_nothing,
                                   figure_source=figure_source)
            job.status = ImportStatus.IMPORTING
            db.session.commit()
            job_id = job.id
        table = read_table(file, kind)
        report = services.import_table(kind, table, actor=actor, figure_source=figure_source, file_name=file.name,
                                       job_id=job_id if job is not None else None)
    except FileRefused as refused:
        db.session.rollback()
        if job is not None:
            from crm.io.jobs import _finish_failed

            _finish_failed(job_id, str(refused.message))
        _fail(str(refused.message))
    finally:
        if table is not None:
            table.close()
    elapsed = round((time.perf_counter() - began) * 1000)
    written = not dry_run and not (all_or_nothing and report.rejected)
    if dry_run or not written:
        db.session.rollback()
    if job is not None:
        from crm.io.models import ImportJob

        job = db.session.get(ImportJob, job_id)
        services.record_report(job, report, ImportStatus.DONE if written else ImportStatus.REFUSED,
                               elapsed_ms=elapsed)
        if written:
            services.audit_import(job, actor=actor)
    db.session.commit()
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    state = "dry run, nothing written" if dry_run else ("written" if written else
                                                        "nothing written (all or nothing)")
    click.echo(f"{kind}: {report.total} rows — created {report.created}, updated {report.updated}, "
               f"unchanged {report.unchanged}, rejected {report.rejected} ({state}; {elapsed} ms)")
    if report.ignored_columns:
        click.echo("columns not imported: " + ", ".join(report.ignored_columns))
    for reject in report.rejects:
        click.echo(f"row {reject['row']}\t{reject['column']}\t{reject['reason']}")


@click.command("export", help="Export a list to .xlsx: enterprises, figures, ip, certifications, needs, visits, "
                              "candidates.")
@click.argument("kind", type=click.Choice(["enterprises", "figures", "ip", "certifications", "needs", "visits",
                                           "candidates"]))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--user", "username", help="Export what this user sees (default: the system, everything).")
@click.option("--region", help="Region code (its whole subtree).")
@click.option("--tier", help="Tier code, or 'candidate' (registry); the pool's tier (candidates).")
@click.option("--q", default="", help="Search text, as on the page.")
@click.option("--status", default="", help="Enterprise status (registry) or need status (needs).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the header row.")
@with_appcontext
def export_command(kind: str, file: Path, username: str | None, region: str | None, tier: str | None, q: str,
                   status: str, lang: str):
    """Write the list as FILE (.xlsx), with the same filters as the page."""
    from flask_babel import force_locale

    from crm.enterprises.models import Region
    from crm.io import queries

    user = _user(username) or queries.SYSTEM
    region_id = None
    if region:
        region_id = db.session.scalar(select(Region.id).where(Region.code == region.strip().upper()))
        if region_id is None:
            _fail(f"no region with code {region!r}")
    args = {"q": q, "region": str(region_id or ""), "tier": tier or "", "status": status}
    began = time.perf_counter()
    tmp = file.with_name(file.name + ".part")
    with force_locale("en" if lang == "en" else "zh_Hans_CN"):
        count = queries.write_export(kind, user, args, tmp)
    shutil.move(tmp, file)
    click.echo(f"{kind}: {count} rows written to {file} ({round((time.perf_counter() - began) * 1000)} ms)")
