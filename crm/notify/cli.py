"""`flask scheduler ...`: the runner (its own process, never inside web workers), the job list, a run by hand."""
from __future__ import annotations

import logging
import signal

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("scheduler", help="Scheduled jobs: reminders, escalations, expiry warnings, snapshots.")
def scheduler_cli():
    """The `scheduler` command group."""


@scheduler_cli.command("run")
@click.option("--interval", default=60, show_default=True, help="Seconds between checks for due jobs.")
@with_appcontext
def run_command(interval: int):
    """Run due jobs now (catching up once what was missed), then every INTERVAL seconds, until stopped."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from crm.extensions import db
    from crm.notify import scheduler

    app = current_app._get_current_object()
    # the app configured the root logger (crm.core.logs: LOG_FORMAT, LOG_LEVEL); this only applies without it
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("miaopu.scheduler")
    log.setLevel(logging.INFO)  # what the runner did is always worth a line, whatever LOG_LEVEL says
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # its per-tick lines drown ours
    holder = scheduler.runner_name()

    def tick():
        with app.app_context():
            try:
                for run in scheduler.tick(holder=holder, heartbeat=True):
                    log.info("%s %s: %s (%s ms)", run.job_id, run.outcome, run.detail, run.duration_ms)
            finally:
                db.session.remove()

    runner = BlockingScheduler(timezone=str(scheduler.clock.zone()))
    # one check loop: never two at once, and after a pause (a suspended VM) one catch-up, not a burst
    runner.add_job(tick, "interval", seconds=interval, id="tick", max_instances=1, coalesce=True,
                   misfire_grace_time=interval * 10, next_run_time=scheduler.utcnow())
    signal.signal(signal.SIGTERM, lambda *_: runner.shutdown(wait=False))
    click.echo(f"scheduler runner {holder}: {len(scheduler.registry())} jobs, checking every {interval} s")
    try:
        runner.start()
    except (KeyboardInterrupt, SystemExit):
        pass


@scheduler_cli.command("list")
@with_appcontext
def list_command():
    """Each job: id, schedule, last run, next run."""
    from crm.notify import queries, scheduler

    jobs = scheduler.registry()
    last = queries.last_runs([j.id for j in jobs])
    now = scheduler.utcnow()
    for job in jobs:
        run = last.get(job.id)
        last_text = f"{run.started_at:%Y-%m-%d %H:%M} {run.outcome}" if run else "never"
        click.echo(f"{job.id:38} {str(job.schedule):28} last: {last_text:24} next: {job.next_slot(now):%Y-%m-%d %H:%M}")


@scheduler_cli.command("run-job")
@click.argument("job_id")
@with_appcontext
def run_job_command(job_id: str):
    """Run one job now, by hand (its notifications are still sent once only)."""
    from crm.notify import scheduler

    job = scheduler.job_by_id(job_id)
    if job is None:
        raise click.BadParameter("unknown job; see `flask scheduler list`", param_hint="JOB_ID")
    run = scheduler.run_now(job)
    if run is None:
        raise click.ClickException("another runner holds this job now; try again in a moment")
    click.echo(f"{job.id}: {run.outcome}: {run.detail}")
    if run.outcome != "ok":
        raise SystemExit(1)
