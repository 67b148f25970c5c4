"""The home route (each role's landing page) and the health check."""
from flask import Blueprint, redirect, url_for
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
    """Liveness and database reachability, for the intranet's monitoring."""
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}
