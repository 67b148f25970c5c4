"""Assignment pages: assign / reassign / end on the enterprise page, bulk from the registry, the officers' load."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth.models import User
from crm.core.policy import require
from crm.core.validation import ValidationFailed
from crm.core.web import paginate
from crm.enterprises import queries as enterprise_queries
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.service import queries, services

bp = Blueprint("service", __name__)


def _manageable(enterprise_id: int) -> Enterprise:
    """An enterprise the current user may assign: 404 outside their scope."""
    enterprise = enterprise_queries.get_enterprise_for(current_user, enterprise_id)
    if enterprise is None or not queries.can_manage_assignment(current_user, enterprise):
        abort(404)
    return enterprise


def _officer_from_form() -> User | None:
    raw = request.form.get("officer_id", "")
    return db.session.get(User, int(raw)) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


def _flash_refusal(failure: ValidationFailed) -> None:
    db.session.rollback()
    for messages in failure.errors.values():
        for message in messages:
            flash(str(message), "danger")


@bp.post("/enterprises/<int:enterprise_id>/assignment", endpoint="assign")
@require("assignment.manage")
def assign(enterprise_id: int):
    """Assign or reassign the enterprise's service officer (the current one's period ends today)."""
    enterprise = _manageable(enterprise_id)
    back = redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="service-officer"), code=303)
    officer = _officer_from_form()
    if officer is None:
        flash(_("Choose a service officer."), "warning")
        return back
    try:
        assignment = services.assign_enterprise(enterprise, officer, actor=current_user)
    except ValidationFailed as failure:
        _flash_refusal(failure)
        return back
    db.session.commit()
    if assignment is None:
        flash(_("%(officer)s already serves this enterprise.", officer=officer.name), "info")
    else:
        flash(_("%(officer)s now serves %(name)s.", officer=officer.name, name=enterprise.name), "success")
    return back


@bp.post("/enterprises/<int:enterprise_id>/assignment/end", endpoint="end")
@require("assignment.manage")
def end(enterprise_id: int):
    """End the current assignment today (kept in the history)."""
    enterprise = _manageable(enterprise_id)
    ended = services.end_assignment(enterprise, actor=current_user)
    db.session.commit()
    if ended:
        flash(_("The assignment has ended; the enterprise has no service officer now."), "success")
    return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="service-officer"), code=303)


@bp.post("/assignments/bulk", endpoint="bulk_assign")
@require("assignment.manage")
def bulk_assign():
    """Assign every enterprise of the registry's filtered list (from hidden fields) to one officer."""
    from crm.enterprises.views import filter_args, read_filter

    f = read_filter(request.form)
    back = redirect(url_for("enterprises.index", **filter_args(f)), code=303)
    officer = _officer_from_form()
    if officer is None:
        flash(_("Choose a service officer."), "warning")
        return back
    stmt = enterprise_queries.registry_query(current_user, f)
    total = db.paginate(stmt, page=1, per_page=1, error_out=False).total or 0
    if total == 0:
        flash(_("No enterprise matches these filters."), "warning")
        return back
    if total > services.BULK_LIMIT:
        flash(_("%(n)s enterprises match; at most %(max)s can be assigned at once. Narrow the filter, "
                "e.g. to one county or park.", n=total, max=services.BULK_LIMIT), "warning")
        return back
    enterprises = list(db.session.scalars(stmt).unique())
    try:
        changed = services.assign_many(enterprises, officer, actor=current_user)
    except ValidationFailed as failure:
        _flash_refusal(failure)
        return back
    db.session.commit()
    flash(_("%(n)s of %(total)s enterprises assigned to %(officer)s (the others were already theirs).",
            n=changed, total=total, officer=officer.name), "success")
    return back


@bp.get("/assignments", endpoint="load")
@require("assignment.manage")
def load():
    """Each officer in the user's scope and how many enterprises they serve now, 50 a page."""
    page = paginate(queries.officers_in_scope(current_user))
    counts = queries.assigned_counts(current_user, [o.id for o in page.items])
    return render_template("service/load.html", page=page, counts=counts,
                           unassigned=queries.unassigned_count(current_user))
