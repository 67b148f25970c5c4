"""`flask readiness ...`: evaluate a profile file; print a readiness sheet."""
from __future__ import annotations

import json
import sys
from decimal import Decimal

import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from crm.ladder.tiers import Tier


@click.group("readiness", help="Readiness for the tiers of the ladder.")
def readiness_cli():
    """The `readiness` command group."""


def _rulesets():
    """The rule sets in force; the shipped ones when there is no database to read the admins' versions from."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from crm.extensions import db
    from crm.ladder import queries
    from crm.ladder.engine import load_rulesets

    try:
        return queries.active_rulesets()
    except (OperationalError, ProgrammingError):
        db.session.rollback()
        click.echo("note: no database with rule settings; using the shipped rule sets", err=True)
        return load_rulesets()


@readiness_cli.command("check")
@click.argument("profile_file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--tier", type=click.Choice([t.value for t in Tier]), help="One tier (default: every tier).")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json", show_default=True)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@with_appcontext
def check(profile_file: str, tier: str | None, fmt: str, lang: str):
    """Evaluate PROFILE_FILE (readiness-profile.md); exit 2 when it cannot be read."""
    from crm.ladder.display import result_text
    from crm.ladder.engine import evaluate, evaluate_all
    from crm.ladder.profile import ProfileError, parse_profile

    try:
        with click.open_file(profile_file, encoding="utf-8") as f:
            data = json.load(f, parse_float=Decimal)
        profile = parse_profile(data)
    except (OSError, ValueError) as exc:  # ProfileError and JSON errors are ValueErrors
        reason = str(exc) if isinstance(exc, ProfileError) else f"cannot read {profile_file}: {exc}"
        click.echo(reason, err=True)
        sys.exit(2)
    rulesets = _rulesets()
    result = evaluate(profile, tier, rulesets, lang=lang) if tier else evaluate_all(profile, rulesets, lang)
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        with force_locale("zh_Hans_CN" if lang == "zh" else "en"):
            results = [result] if tier else result
            click.echo("\n\n".join(result_text(r) for r in results))


@click.group("ladder", help="Upkeep of the ladder's data.")
def ladder_cli():
    """The `ladder` command group."""


@ladder_cli.command("expire")
@with_appcontext
def expire():
    """Mark certifications past their expiry as expired and recompute current tiers (safe to run twice)."""
    from crm.extensions import db
    from crm.ladder.services import expire_due_certifications

    count = expire_due_certifications(actor="scheduler")
    db.session.commit()
    click.echo(f"certifications expired: {count}")


@readiness_cli.command("sheet")
@click.argument("uscc")
@click.option("--tier", help="Tier code (default: the enterprise's next tier).")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="The PDF file to write ('-' for standard output).")
@click.option("--lang", default="zh", show_default=True, help="zh or en.")
@click.option("--prepared-by", default="", help="Name printed as 填表人 / prepared by (default: a blank line).")
@with_appcontext
def sheet(uscc: str, tier: str | None, output: str, lang: str, prepared_by: str):
    """Write the readiness sheet (认定准备情况表) of enterprise USCC as a PDF; exit 2 with the reason if it cannot."""
    import time

    from sqlalchemy import select

    from crm.core.uscc import normalize_uscc
    from crm.enterprises.models import Enterprise
    from crm.extensions import db
    from crm.ladder import documents
    from crm.ladder.engine import TIERS

    def fail(reason: str):
        click.echo(reason, err=True)
        sys.exit(2)

    code = documents.parse_lang(lang)
    if code is None:
        fail(f"unknown language {lang!r} (zh or en)")
    if tier is not None and tier not in TIERS:
        fail(f"unknown tier {tier!r} (one of: {', '.join(TIERS)})")
    enterprise = db.session.scalar(select(Enterprise).where(Enterprise.uscc == normalize_uscc(uscc)))
    if enterprise is None:
        fail(f"no enterprise has the unified social credit code {uscc!r}")
    started = time.perf_counter()
    pdf = documents.readiness_sheet_pdf(enterprise, tier, lang=code, prepared_by=prepared_by)
    elapsed = (time.perf_counter() - started) * 1000
    if output == "-":
        sys.stdout.buffer.write(pdf)
        sys.stdout.buffer.flush()
    else:
        try:
            with open(output, "wb") as f:
                f.write(pdf)
        except OSError as exc:
            fail(f"cannot write {output}: {exc}")
        click.echo(f"wrote {output} ({len(pdf):,} bytes, {elapsed:.0f} ms)", err=True)
