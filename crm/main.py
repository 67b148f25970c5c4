"""The home route (each role's landing page) and the health check."""
from flask import Blueprint, current_app, jsonify, redirect, url_for
from flask_login import current_user

from crm.core.policy import Role, public, signed_in
from crm.extensions import db

bp = Blueprint("main", __name__)


@bp.get("/")
@signed_in
def home():
    """Send each role to its working page."""
    if current_user.role == Role.ENTERPRISE:
        return redirect(url_for("portal.home"))
    if current_user.role == Role.DEPARTMENT:
        return redirect(url_for("referrals.inbox"))
    if current_user.role == Role.OFFICER:
        return redirect(url_for("service.workbench"))
    return redirect(url_for("enterprises.index"))


@bp.get("/healthz")
@public
def healthz():
    """The database answers and the scheduler's runner is alive: 200 JSON, else 503 saying what failed.

    Public and cheap (two primary-key-sized queries, no session, no user) for the intranet's monitoring.
    `scheduler` is "ok", "stale" (its heartbeat expired: 503), "not seen" (no runner ever ran on this
    database, e.g. a development machine), "not checked" (HEALTH_SCHEDULER_MAX_AGE=0) or "unknown"
    (the database is down).
    """
    from sqlalchemy.exc import SQLAlchemyError

    from crm.core.db import utcnow
    from crm.notify.queries import scheduler_heartbeat

    report = {"status": "ok", "database": "ok", "scheduler": "unknown"}
    try:
        db.session.execute(db.text("SELECT 1"))
        if not current_app.config["HEALTH_SCHEDULER_MAX_AGE"]:
            report["scheduler"] = "not checked"
        else:
            lease = scheduler_heartbeat()
            if lease is None or lease.expires_at is None:
                report["scheduler"] = "not seen"
            elif lease.expires_at < utcnow():
                report["scheduler"] = "stale"
                report["status"] = "error"
            else:
                report["scheduler"] = "ok"
    except SQLAlchemyError as exc:
        db.session.rollback()
        current_app.logger.error("health check: database unavailable: %s", type(exc).__name__)
        report["database"] = "unavailable"
        report["status"] = "error"
    response = jsonify(report)
    response.status_code = 200 if report["status"] == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response
