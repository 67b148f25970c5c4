"""`flask pipeline ...`: monthly snapshots of the ladder, one month or back-filled from the history."""
from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext


def _month(text: str) -> date:
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise click.BadParameter("use YYYY-MM, e.g. 2024-01") from None


@click.group("pipeline", help="The pipeline's monthly snapshots.")
def pipeline_cli():
    """The `pipeline` command group."""


@pipeline_cli.command("backfill")
@click.option("--since", required=True, help="First month, YYYY-MM.")
@click.option("--until", "until_", help="Last month, YYYY-MM (default: last month).")
@with_appcontext
def backfill_command(since: str, until_: str | None):
    """Compute the snapshots of past months from the certification history (replaces those months)."""
    from crm.core import clock
    from crm.extensions import db
    from crm.pipeline import services

    last = services.month_end(_month(until_)) if until_ else services.previous_month_end(clock.today())
    done = services.backfill(_month(since), last)
    db.session.commit()
    for end, rows in done:
        click.echo(f"{end.isoformat()}: {rows} rows")
    click.echo(f"{len(done)} months")
