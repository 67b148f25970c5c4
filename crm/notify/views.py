"""The inbox (every signed-in user), the e-mail preference, and the admins' view of the scheduler's jobs."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.db import utcnow
from crm.core.policy import require, signed_in
from crm.core.security import is_safe_next
from crm.core.web import paginate
from crm.extensions import db
from crm.notify import mail, queries, scheduler, services
from crm.notify.forms import EmailPreferenceForm
from crm.notify.messages import render
from crm.notify.models import Notification

bp = Blueprint("notify", __name__)


@bp.get("/notifications", endpoint="inbox")
@signed_in
def inbox():
    """The user's notifications, newest first, 50 a page; "unread" shows only those."""
    state = "unread" if request.args.get("state") == "unread" else ""
    page = paginate(queries.inbox(current_user, state))
    return render_template("notify/inbox.html", page=page, state=state, render=render,
                           unread=queries.unread_count(current_user),
                           email_form=EmailPreferenceForm(formdata=None, obj=current_user),
                           email_enabled=mail.enabled())


@bp.post("/notifications/<int:notification_id>/open", endpoint="open")
@signed_in
def open_(notification_id: int):
    """Mark the notification read and go where it points (a POST: reading changes state)."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)
    services.mark_read(notification)
    db.session.commit()
    target = notification.link if notification.link and is_safe_next(notification.link) else url_for("notify.inbox")
    return redirect(target, code=303)


@bp.post("/notifications/read-all", endpoint="read_all")
@signed_in
def read_all():
    """Mark every notification of the user read."""
    n = services.mark_all_read(current_user)
    db.session.commit()
    flash(_("%(n)s notifications marked read.", n=n), "success")
    return redirect(url_for("notify.inbox"), code=303)


@bp.post("/notifications/email", endpoint="email_preference")
@signed_in
def email_preference():
    """Turn notification e-mails on or off for oneself."""
    form = EmailPreferenceForm()
    if form.validate_on_submit():
        services.set_email_preference(current_user, form.email_notifications.data, actor=current_user)
        db.session.commit()
        flash(_("Your e-mail preference has been saved."), "success")
    return redirect(url_for("notify.inbox"), code=303)


@bp.get("/admin/jobs", endpoint="jobs")
@require("jobs.manage")
def jobs():
    """Every scheduled job: schedule, last run (when, how long, outcome), next run; run one now."""
    registry = scheduler.registry()
    return render_template("notify/jobs.html", jobs=registry, last=queries.last_runs([j.id for j in registry]),
                           now=utcnow())


@bp.get("/admin/jobs/<job_id>", endpoint="job_runs")
@require("jobs.manage")
def job_runs(job_id: str):
    """A job's runs, newest first, 50 a page."""
    job = scheduler.job_by_id(job_id)
    if job is None:
        abort(404)
    return render_template("notify/job_runs.html", job=job, page=paginate(queries.runs_of(job.id)))


@bp.post("/admin/jobs/<job_id>/run", endpoint="run_job")
@require("jobs.manage")
def run_job(job_id: str):
    """Run a job now, in this request (its dedupe keys keep it from telling anyone twice)."""
    job = scheduler.job_by_id(job_id)
    if job is None:
        abort(404)
    run = scheduler.run_now(job, holder=f"web:{current_user.username}")
    if run is None:
        flash(_("The job is running elsewhere right now (or had nothing to do); try again in a moment."), "warning")
    elif run.outcome == "ok":
        flash(_("%(job)s ran: %(detail)s", job=job.id, detail=run.detail), "success")
    else:
        flash(_("%(job)s failed: %(detail)s", job=job.id, detail=run.detail), "danger")
    return redirect(url_for("notify.jobs"), code=303)
