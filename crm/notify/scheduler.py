"""The scheduler: one registry of jobs with stable ids, run by its own process (`flask scheduler run`).

Exactly once, by three locks that do not depend on each other:
1. a slot: each job runs for its latest scheduled time (its "slot"); a slot with a successful run
   is never run again, so a second runner, a restart or a catch-up after an outage finds it done;
   an outage of three days leaves one slot to run (the latest), not three;
2. a lease in `job_locks`: taking it is one conditional UPDATE (atomic on SQLite and PostgreSQL),
   so two runners started by mistake never run the same job at the same time;
3. dedupe keys: every notification a job writes has a unique key, so even a job re-run by hand
   for the same day notifies nobody twice.
Each run is one unit of work: the job's writes commit at its end or roll back whole on an error,
which is recorded on the run for admins to see.
"""
from __future__ import annotations

import os
import socket
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from crm.core import clock
from crm.core.db import utcnow
from crm.core.i18n import BABEL_LOCALES, DEFAULT_LANGUAGE
from crm.extensions import db
from crm.notify.models import JobLock, JobRun
from crm.notify.queries import done_slot

# A lease outlives any job by far; a runner that died holding it frees the job after this long.
LEASE = timedelta(minutes=30)
# The runner's heartbeat is a lease of its own in job_locks (no job has this id): renewed at every check
# and before every job, it expires HEALTH_SCHEDULER_MAX_AGE seconds later; /healthz reports a runner
# whose heartbeat expired as stale.
HEARTBEAT_ID = "scheduler.heartbeat"
DEFAULT_HEARTBEAT_AGE = 600


@dataclass(frozen=True)
class JobContext:
    """What a job knows of the moment it runs for: the slot (UTC) and that slot's date in the bureau's zone."""

    slot: datetime
    today: date


@dataclass(frozen=True)
class Job:
    """A scheduled job: stable id, what it does (returns a line saying what it did), when (cron fields)."""

    id: str
    func: Callable[[JobContext], str]
    cron: dict
    description: object
    schedule: object = ""
    options: dict = field(default_factory=dict)

    def trigger(self) -> CronTrigger:
        """The job's cron trigger in the bureau's zone."""
        return CronTrigger(timezone=clock.zone(), **self.cron)

    def latest_slot(self, now: datetime) -> datetime | None:
        """The latest scheduled time at or before `now` (UTC), looking back at most 40 days."""
        trigger = self.trigger()
        # widen the look-back step by step, so a minutely job does not walk 40 days of minutes
        for window in (timedelta(minutes=2), timedelta(days=2), timedelta(days=8), timedelta(days=40)):
            last = None
            fire = trigger.get_next_fire_time(None, now - window)
            while fire is not None and fire <= now:
                last = fire
                fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
            if last is not None:
                return last.astimezone(now.tzinfo)
        return None

    def next_slot(self, now: datetime) -> datetime | None:
        """The next scheduled time after `now`."""
        return self.trigger().get_next_fire_time(None, now)


def registry() -> list[Job]:
    """Every job of the app, in the order the admin page lists them (features define them in their jobs.py)."""
    from crm.auth import jobs as auth_jobs
    from crm.cycle import jobs as cycle_jobs
    from crm.ladder import jobs as ladder_jobs
    from crm.notify import mail
    from crm.pipeline import jobs as pipeline_jobs
    from crm.policies import jobs as policy_jobs
    from crm.referrals import jobs as referral_jobs
    from crm.service import jobs as service_jobs
    from crm.tags import jobs as tags_jobs

    return [
        Job("ladder.expire_certifications", lambda ctx: ladder_jobs.expire_certifications(ctx.today),
            {"hour": 0, "minute": 30}, _l("Mark certifications past their expiry as expired"), _l("daily 00:30")),
        Job("ladder.expiry_warnings", lambda ctx: ladder_jobs.expiry_warnings(ctx.today),
            {"hour": 7, "minute": 0}, _l("Warn officers and enterprises of certificates expiring in 180, 90, 30 days"),
            _l("daily 07:00")),
        Job("service.recertification_follow_ups", lambda ctx: service_jobs.recertification_follow_ups(ctx.today),
            {"hour": 7, "minute": 5}, _l("Plan a re-certification follow-up 180 days before a high-tech "
                                         "certificate expires"), _l("daily 07:05")),
        Job("service.follow_up_digest", lambda ctx: service_jobs.follow_up_digest(ctx.today),
            {"hour": 7, "minute": 10}, _l("One digest per officer: follow-ups overdue, due today and tomorrow"),
            _l("daily 07:10")),
        Job("service.overdue_needs", lambda ctx: service_jobs.overdue_needs(ctx.today),
            {"hour": 7, "minute": 15}, _l("Needs past their due date to their owner; long overdue ones to "
                                          "the region's managers"), _l("daily 07:15")),
        Job("referrals.escalate_overdue", lambda ctx: referral_jobs.escalate_overdue(ctx.today),
            {"hour": 7, "minute": 20}, _l("Escalate referrals past their deadline (working days) to the region's "
                                          "managers"), _l("daily 07:20")),
        Job("cycle.stage_deadlines", lambda ctx: cycle_jobs.stage_deadlines(ctx.today),
            {"hour": 7, "minute": 25}, _l("Application stages: officers reminded before a batch's deadline, officers "
                                          "and managers told when it has passed"), _l("daily 07:25")),
        Job("service.weekly_summary", lambda ctx: service_jobs.weekly_summary(ctx.today),
            {"day_of_week": "mon", "hour": 7, "minute": 30}, _l("Weekly summary of their region to each manager"),
            _l("Mondays 07:30")),
        Job("policies.window_notifications", lambda ctx: policy_jobs.window_notifications(ctx.today),
            {"hour": 7, "minute": 20}, _l("Policy windows: officers told which enterprises to inform when a window "
                                          "opens, and which have not applied before it closes"), _l("daily 07:20")),
        Job("policies.grade_enterprises", lambda ctx: policy_jobs.grade_enterprises(ctx.today),
            {"hour": 2, "minute": 30}, _l("Grade every enterprise A/B/C/D on last year's figures (efficiency)"),
            _l("daily 02:30")),
        Job("policies.refresh_matches", lambda ctx: policy_jobs.refresh_all_matches(ctx.today),
            {"hour": 2, "minute": 0}, _l("Recompute which enterprises each policy's conditions match (every "
                                         "enterprise × policy)"), _l("daily 02:00")),
        Job("policies.refresh_stale_matches", lambda ctx: policy_jobs.refresh_stale_matches(ctx.today),
            {"minute": "*/5"}, _l("Compute the policy matches missing or left by older conditions"),
            _l("every 5 minutes"), options={"quiet": True}),
        Job("ladder.refresh_ranks", lambda ctx: ladder_jobs.refresh_all_ranks(ctx.today),
            {"hour": 2, "minute": 15}, _l("Rank every enterprise toward every tier for the candidate pools"),
            _l("daily 02:15")),
        Job("ladder.refresh_stale_ranks", lambda ctx: ladder_jobs.refresh_stale_ranks(ctx.today),
            {"minute": "*/5"}, _l("Rank the enterprises missing from the candidate pools or ranked under an older "
                                  "rule set"), _l("every 5 minutes"), options={"quiet": True}),
        Job("pipeline.monthly_snapshot", lambda ctx: pipeline_jobs.monthly_snapshot(ctx.today),
            {"day": 1, "hour": 1, "minute": 0}, _l("Snapshot of the ladder at the end of last month"),
            _l("monthly, on the 1st at 01:00")),
        Job("pipeline.refresh_activity", lambda ctx: pipeline_jobs.refresh_activity(ctx.today),
            {"minute": "*/10"}, _l("Recount the year's visits, needs and certifications by region for the dashboards"),
            _l("every 10 minutes")),
        Job("pipeline.refresh_forecast", lambda ctx: pipeline_jobs.refresh_forecast(ctx.today),
            {"minute": 5}, _l("Rank the candidates of every targeted tier for the targets' forecasts"),
            _l("hourly at :05")),
        Job("pipeline.refresh_at_risk", lambda ctx: pipeline_jobs.refresh_at_risk(ctx.today),
            {"minute": 35}, _l("Count the held tiers at risk by region for the dashboards"), _l("hourly at :35")),
        Job("tags.refresh_rule_tags", lambda ctx: tags_jobs.refresh_rule_tags(ctx.today),
            {"hour": 2, "minute": 15}, _l("Re-evaluate the tags by rule over the enterprises' figures"),
            _l("daily 02:15")),
        Job("auth.prune_login_attempts", lambda ctx: auth_jobs.prune_login_attempts(ctx.slot),
            {"hour": 3, "minute": 20}, _l("Delete sign-in attempts older than LOGIN_ATTEMPTS_KEEP_DAYS (default 90)"),
            _l("daily 03:20")),
        Job("notify.deliver_email", lambda ctx: mail.deliver_pending(),
            {"minute": "*"}, _l("E-mail new notifications (when SMTP is configured)"), _l("every minute"),
            options={"quiet": True}),
    ]


def job_by_id(job_id: str) -> Job | None:
    """The registered job with this id."""
    return next((job for job in registry() if job.id == job_id), None)


def runner_name() -> str:
    """This process, as the lock holder and the runs name it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire(job_id: str, holder: str, now: datetime) -> bool:
    """Take the job's lease (committed at once); False when another holder has it."""
    if db.session.get(JobLock, job_id) is None:
        try:
            db.session.add(JobLock(job_id=job_id, holder="", expires_at=None))
            db.session.commit()
        except IntegrityError:  # another runner created the row first: fine, the UPDATE below decides
            db.session.rollback()
    result = db.session.execute(update(JobLock).where(
        JobLock.job_id == job_id,
        (JobLock.expires_at.is_(None)) | (JobLock.expires_at < now) | (JobLock.holder == holder),
    ).values(holder=holder, expires_at=now + LEASE))
    db.session.commit()
    return bool(result.rowcount)


def release(job_id: str, holder: str) -> None:
    """Give the lease back (only the holder can)."""
    db.session.execute(update(JobLock).where(JobLock.job_id == job_id, JobLock.holder == holder)
                       .values(holder="", expires_at=None))
    db.session.commit()


def run(job: Job, slot: datetime, *, holder: str | None = None, manual: bool = False,
        now: datetime | None = None) -> JobRun | None:
    """Run `job` for `slot` once: None when another runner holds it or (unless manual) the slot is done."""
    holder = holder or runner_name()
    now = now or utcnow()
    if not acquire(job.id, holder, now):
        return None
    try:
        if not manual and done_slot(job.id, slot):
            return None
        record = JobRun(job_id=job.id, scheduled_for=slot, runner=holder, manual=manual, started_at=utcnow())
        db.session.add(record)
        db.session.commit()
        run_id = record.id
        try:
            # what jobs write down (run details, planned follow-ups) is in the bureau's language
            with force_locale(BABEL_LOCALES[DEFAULT_LANGUAGE]):
                detail = job.func(JobContext(slot=slot, today=clock.local_date(slot)))
            db.session.commit()
            outcome = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure: undo the job's writes, keep the reason
            db.session.rollback()
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()[-2000:]
            outcome = "error"
        record = db.session.get(JobRun, run_id)
        if outcome == "ok" and detail is None and job.options.get("quiet"):
            # a quiet job that found nothing to do (the minutely e-mail run) leaves no history row
            db.session.delete(record)
            db.session.commit()
            return None
        record.outcome, record.detail, record.finished_at = outcome, str(detail or ""), utcnow()
        db.session.commit()
        return record
    finally:
        release(job.id, holder)


def beat(holder: str, now: datetime | None = None) -> None:
    """Renew the runner's heartbeat (committed at once): it says "alive" until HEALTH_SCHEDULER_MAX_AGE from now."""
    from flask import current_app

    now = now or utcnow()
    age = current_app.config.get("HEALTH_SCHEDULER_MAX_AGE") or DEFAULT_HEARTBEAT_AGE
    if db.session.get(JobLock, HEARTBEAT_ID) is None:
        try:
            db.session.add(JobLock(job_id=HEARTBEAT_ID, holder=holder, expires_at=now + timedelta(seconds=age)))
            db.session.commit()
            return
        except IntegrityError:  # a second runner beat first: renew the row below
            db.session.rollback()
    db.session.execute(update(JobLock).where(JobLock.job_id == HEARTBEAT_ID)
                       .values(holder=holder, expires_at=now + timedelta(seconds=age)))
    db.session.commit()


def tick(now: datetime | None = None, holder: str | None = None, *, heartbeat: bool = False) -> list[JobRun]:
    """Run every job whose latest slot has not run yet (what the runner does each minute).

    With `heartbeat` (the runner process) the heartbeat is renewed first and before each job, so a long
    job does not make a live runner look dead.
    """
    now = now or utcnow()
    done = []
    if heartbeat:
        beat(holder or runner_name())
    for job in registry():
        slot = job.latest_slot(now)
        if slot is not None and not done_slot(job.id, slot):
            if heartbeat:
                beat(holder or runner_name())
            result = run(job, slot, holder=holder, now=now)
            if result is not None:
                done.append(result)
    return done


def run_now(job: Job, *, holder: str | None = None) -> JobRun | None:
    """Run a job by hand, now (the admin's button, the CLI); dedupe keys keep it from notifying twice."""
    return run(job, utcnow().replace(microsecond=0), holder=holder, manual=True)
