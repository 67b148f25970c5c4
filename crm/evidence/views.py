"""Evidence pages: attachments (upload, stream, delete), check-in, the 14-day warning, visit plans and the report."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from crm.core import clock
from crm.core.audit import register_field_labels
from crm.core.forms import choices
from crm.core.policy import Role, require
from crm.core.uow import unit_of_work
from crm.core.validation import ValidationFailed, attach_errors, form_status
from crm.core.xlsx import xlsx_response
from crm.enterprises import queries as enterprise_queries
from crm.evidence import queries, services
from crm.evidence.forms import AttachmentForm, CheckInForm, VisitPlanForm
from crm.evidence.models import Attachment, ParentKind, VisitPlan
from crm.extensions import db
from crm.service import queries as service_queries

bp = Blueprint("evidence", __name__)

register_field_labels("visits", joint_officers=_l("Joint visit with"), departments=_l("Departments taking part"))
register_field_labels("visit_plans", VisitPlanForm, officer_id=_l("Officer"), visit_id=_l("Visit"))
register_field_labels("attachments", parent_type=_l("Record"), parent_id=_l("Record no."),
                      original_name=_l("File name"), mime=_l("Type"), size=_l("Size"))
register_field_labels("visit_check_ins", officer_id=_l("Officer"), plan_id=_l("Visit plan"), visit_id=_l("Visit"),
                      checked_in_at=_l("Checked in at"), latitude=_l("Latitude"), longitude=_l("Longitude"),
                      accuracy_m=_l("Accuracy (m)"))

KIND_LABELS = {ParentKind.VISIT: _l("Visit"), ParentKind.NEED: _l("Need"),
               ParentKind.CERTIFICATION: _l("Certification")}
PLAN_STATE_LABELS = {"done": _l("Done"), "missed": _l("Missed"), "late": _l("Date passed"), "to_do": _l("To do")}


def _int(raw) -> int | None:
    raw = str(raw or "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


# --- attachments ---------------------------------------------------------------------------------

def _parent(kind: str, parent_id: int):
    """The record files belong to, by its own read rule: 404 when the user may not read it."""
    if kind not in KIND_LABELS:
        abort(404)
    parent = queries.parent_record(kind, parent_id)
    if parent is None or not queries.can_read_parent(current_user, kind, parent):
        abort(404)
    return parent


def parent_url(kind: str, parent) -> str:
    """The page of the record an attachment belongs to."""
    if kind == ParentKind.VISIT:
        return url_for("service.visit_detail", visit_id=parent.id)
    if kind == ParentKind.NEED:
        return url_for("service.need_detail", need_id=parent.id)
    return url_for("evidence.attachments", kind=kind, parent_id=parent.id)


def _render_attachments(kind, parent, form, status=200):
    return render_template("evidence/attachments.html", kind=kind, kind_label=KIND_LABELS[kind], parent=parent,
                           attachments=queries.attachments_of(kind, parent.id), form=form,
                           can_attach=queries.can_attach(current_user, kind, parent),
                           back=parent_url(kind, parent), max_mb=_max_mb()), status


def _max_mb():
    return round(current_app.config["ATTACHMENT_MAX_BYTES"] / 1024 / 1024, 1)


@bp.get("/attachments/<kind>/<int:parent_id>", endpoint="attachments")
@require("service.read")
def attachments(kind: str, parent_id: int):
    """The photos and files of a visit, need or certification, with the form to add more."""
    parent = _parent(kind, parent_id)
    return _render_attachments(kind, parent, AttachmentForm(formdata=None))


@bp.post("/attachments/<kind>/<int:parent_id>", endpoint="upload")
@require("service.write")
def upload(kind: str, parent_id: int):
    """Add photos or files to a record (refused, with the reason, unless recognised by content and small enough)."""
    parent = _parent(kind, parent_id)
    if not queries.can_attach(current_user, kind, parent):
        abort(403)
    form = AttachmentForm()
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if form.validate_on_submit() and not uploads:
        form.files.errors = [_("Choose a photo or a file.")]
    elif form.validate_on_submit():
        try:
            added = services.add_attachments(kind, parent, uploads, actor=current_user)
        except ValidationFailed as failure:
            db.session.rollback()
            parent = _parent(kind, parent_id)
            attach_errors(form, failure)
        else:
            db.session.commit()
            flash(_("%(n)s file(s) added.", n=len(added)), "success")
            return redirect(parent_url(kind, parent) + "#attachments", code=303)
    return _render_attachments(kind, parent, form, 422)


def _attachment(attachment_id: int) -> tuple[Attachment, object]:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        abort(404)
    return attachment, _parent(attachment.parent_type, attachment.parent_id)


@bp.get("/attachments/<int:attachment_id>", endpoint="download")
@require("service.read")
def download(attachment_id: int):
    """Stream a file to those who may read its record: pictures inline, everything else as a download."""
    attachment, _parent_record = _attachment(attachment_id)
    path = services.stored_path(attachment.stored_name)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=attachment.mime, as_attachment=not attachment.is_image,
                         download_name=attachment.original_name, conditional=True, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    # whatever the bytes are, the browser runs nothing from them
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response


@bp.post("/attachments/<int:attachment_id>/delete", endpoint="delete")
@require("service.write")
def delete(attachment_id: int):
    """Delete a file: its uploader or an admin (audited)."""
    attachment, parent = _attachment(attachment_id)
    if not queries.can_delete_attachment(current_user, attachment):
        abort(403)
    kind = attachment.parent_type
    path = services.delete_attachment(attachment, actor=current_user)
    db.session.commit()
    path.unlink(missing_ok=True)
    flash(_("The file has been deleted."), "success")
    return redirect(parent_url(kind, parent) + "#attachments", code=303)


# --- check-in and the 14-day warning ---------------------------------------------------------------

@bp.post("/check-ins", endpoint="check_in")
@require("service.write")
def check_in():
    """Check in at an enterprise on arrival (server time, the browser's position if allowed); then log the visit."""
    form = CheckInForm()
    enterprise_id = _int(form.enterprise_id.data)
    enterprise = enterprise_queries.get_enterprise_for(current_user, enterprise_id) if enterprise_id else None
    if enterprise is None:
        abort(404)
    if not service_queries.can_record(current_user, enterprise):
        abort(403)
    plan = None
    if _int(form.plan_id.data):
        plan = db.session.get(VisitPlan, _int(form.plan_id.data))
        if plan is None or not queries.can_read_plan(current_user, plan):
            abort(404)
    if not form.validate_on_submit():
        abort(400)
    try:
        item = services.check_in(enterprise, actor=current_user, latitude=form.latitude.data,
                                 longitude=form.longitude.data, accuracy=form.accuracy.data, plan=plan)
    except ValidationFailed as failure:
        db.session.rollback()
        for messages in failure.errors.values():
            for message in messages:
                flash(str(message), "danger")
        return redirect(url_for("evidence.plans"), code=303)
    db.session.commit()
    flash(_("Checked in at %(name)s at %(time)s.", name=enterprise.name,
            time=item.checked_in_at.astimezone(clock.zone()).strftime("%H:%M")), "success")
    return redirect(url_for("service.visit_new", enterprise=enterprise.id, check_in=item.id), code=303)


@bp.get("/visits/recent", endpoint="recent_visits")
@require("service.write")
def recent_visits():
    """The visit form's warning (htmx): who else visited the chosen enterprise in the last 14 days."""
    enterprise_id = _int(request.args.get("enterprise_id"))
    enterprise = enterprise_queries.get_enterprise_for(current_user, enterprise_id) if enterprise_id else None
    visits = queries.recent_visits_by_others(enterprise, current_user) if enterprise else []
    return render_template("evidence/_recent_visits.html", recent=visits, days=queries.RECENT_VISIT_DAYS)


# --- visit plans -----------------------------------------------------------------------------------

def _plan(plan_id: int, *, change: bool = False) -> VisitPlan:
    plan = db.session.get(VisitPlan, plan_id)
    if plan is None or not queries.can_read_plan(current_user, plan):
        abort(404)
    if change and not queries.can_change_plan(current_user, plan):
        abort(403)
    return plan


def _plan_officer():
    """Whose plan a list shows: the user's own; a manager or admin may pick an officer of their scope."""
    officer_id = _int(request.args.get("officer"))
    if officer_id is None or officer_id == current_user.id:
        return current_user
    if current_user.role not in (Role.ADMIN, Role.MANAGER):
        abort(404)
    officer = queries.officer_in_scope(current_user, officer_id)
    if officer is None:
        abort(404)
    return officer


@bp.get("/visit-plans", endpoint="plans")
@require("service.read")
def plans():
    """A month's plan of visits, week by week, each with its state; the visits made outside the plan."""
    return _render_plans(_plan_officer(), queries.parse_month(request.args.get("month"), clock.today()))


def _render_plans(officer, month):
    today = clock.today()
    items = queries.plans_of(officer.id, month)
    weeks: dict[int | None, list] = {}
    for plan in items:
        weeks.setdefault(queries.plan_week(plan), []).append(plan)
    unplanned = list(db.session.scalars(queries.unplanned_visits(officer.id, month).limit(100)))
    return render_template(
        "evidence/plans.html", month=month, prev_month=queries.month_start(month - timedelta(days=1)),
        next_month=queries.next_month(month), officer=officer, items=items,
        weeks=sorted(weeks.items(), key=lambda kv: kv[0] or 9), unplanned=unplanned,
        state=lambda p: queries.plan_state(p, today), state_labels=PLAN_STATE_LABELS, today=today,
        officers=(service_queries.officer_choices(current_user)
                  if current_user.role in (Role.ADMIN, Role.MANAGER) else []))


def _plan_form_choices(form: VisitPlanForm, selected=None) -> None:
    own = queries.plan_enterprise_choices(current_user)
    pairs = [("", _("Choose…"))] + [(e.id, e.name) for e in own]
    if selected is not None and selected.id not in {e.id for e in own}:
        pairs.append((selected.id, selected.name))
    form.enterprise_id.choices = choices(pairs)


def _plan_data(form: VisitPlanForm) -> dict:
    return {"month": queries.parse_month(form.month.data, clock.today()), "planned_on": form.planned_on.data,
            "planned_week": form.planned_week.data, "purpose": form.purpose.data}


@bp.route("/visit-plans/new", methods=["GET", "POST"], endpoint="plan_new")
@require("service.write")
def plan_new():
    """Plan a visit (next month by default): enterprise, date or week, purpose."""
    form = VisitPlanForm()
    chosen = form.enterprise_id.data if request.method == "POST" else _int(request.args.get("enterprise"))
    enterprise = enterprise_queries.get_enterprise_for(current_user, chosen) if chosen else None
    if chosen and enterprise is None:
        abort(404)
    _plan_form_choices(form, enterprise)
    if request.method == "GET":
        month = queries.parse_month(request.args.get("month"), queries.next_month(clock.today().replace(day=1)))
        form.month.data = f"{month:%Y-%m}"
        form.enterprise_id.data = enterprise.id if enterprise else None
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            plan = services.plan_visit(enterprise, _plan_data(form), actor=current_user)
        if work.ok:
            flash(_("%(name)s is in your plan for %(month)s.", name=enterprise.name, month=f"{plan.month:%Y-%m}"),
                  "success")
            return redirect(url_for("evidence.plans", month=f"{plan.month:%Y-%m}"), code=303)
    return render_template("evidence/plan_form.html", form=form, plan=None), form_status(form)


@bp.get("/visit-plans/<int:plan_id>", endpoint="plan_detail")
@require("service.read")
def plan_detail(plan_id: int):
    """A planned visit: check in on arrival, then log the visit; or the visit recorded against it."""
    plan = _plan(plan_id)
    return render_template("evidence/plan.html", plan=plan, state=queries.plan_state(plan, clock.today()),
                           state_labels=PLAN_STATE_LABELS, check_in_form=CheckInForm(formdata=None),
                           can_change=queries.can_change_plan(current_user, plan),
                           can_record=service_queries.can_record(current_user, plan.enterprise)
                           and plan.officer_id == current_user.id,
                           recent=queries.recent_visits_by_others(plan.enterprise, current_user),
                           days=queries.RECENT_VISIT_DAYS)


@bp.route("/visit-plans/<int:plan_id>/edit", methods=["GET", "POST"], endpoint="plan_edit")
@require("service.write")
def plan_edit(plan_id: int):
    """Move a planned visit to another date, week or month, or change its purpose."""
    plan = _plan(plan_id, change=True)
    form = VisitPlanForm(obj=plan)
    form.enterprise_id.choices = choices([(plan.enterprise_id, plan.enterprise.name)])
    if request.method == "GET":
        form.month.data = f"{plan.month:%Y-%m}"
    form.enterprise_id.data = plan.enterprise_id
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            services.update_plan(plan, _plan_data(form), actor=current_user)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("evidence.plans", month=f"{plan.month:%Y-%m}"), code=303)
    return render_template("evidence/plan_form.html", form=form, plan=plan), form_status(form)


@bp.post("/visit-plans/<int:plan_id>/delete", endpoint="plan_delete")
@require("service.write")
def plan_delete(plan_id: int):
    """Take a visit off the plan (audited)."""
    plan = _plan(plan_id, change=True)
    month = f"{plan.month:%Y-%m}"
    services.delete_plan(plan, actor=current_user)
    db.session.commit()
    flash(_("The visit has been taken off the plan."), "success")
    return redirect(url_for("evidence.plans", month=month), code=303)


def _report_month():
    return queries.parse_month(request.args.get("month"), clock.today())


@bp.get("/visit-plans/report", endpoint="plan_report")
@require("performance.read")
def plan_report():
    """Plan against actual per officer of the manager's region for a month."""
    month = _report_month()
    rows = queries.plan_report(current_user, month)
    return render_template("evidence/report.html", month=month, rows=rows,
                           prev_month=queries.month_start(month - timedelta(days=1)), next_month=queries.next_month(month),
                           totals={k: sum(getattr(r, k) for r in rows)
                                   for k in ("planned", "done", "unplanned", "missed", "to_do")})


@bp.get("/visit-plans/report/<int:officer_id>", endpoint="plan_report_officer")
@require("performance.read")
def plan_report_officer(officer_id: int):
    """One officer's month: the plan with each entry's state, and the visits made outside it."""
    officer = queries.officer_in_scope(current_user, officer_id)
    if officer is None:
        abort(404)
    return _render_plans(officer, _report_month())


REPORT_HEADERS = (_l("Officer"), _l("Region"), _l("Planned"), _l("Done"), _l("Done, unplanned"), _l("Missed"),
                  _l("To do"), _l("Share of the plan done"))


@bp.get("/visit-plans/report.xlsx", endpoint="plan_report_export")
@require("performance.read")
def plan_report_export():
    """The plan-against-actual table of a month, in Excel."""
    month = _report_month()
    rows = queries.plan_report(current_user, month)
    body = [[r.officer.name, r.officer.region.name if r.officer.region else "", r.planned, r.done, r.unplanned,
             r.missed, r.to_do, round(r.rate * 100, 1) if r.rate is not None else None] for r in rows]
    title = _("Visit plan %(month)s", month=f"{month:%Y-%m}")
    return xlsx_response(f"{title}.xlsx", title[:31], [str(h) for h in REPORT_HEADERS], body)


def visit_panel_context(visit) -> dict:
    """What the visit page shows of evidence: check-in, joint officers and departments, files, the plan filled."""
    return {
        "check_in": queries.check_in_of(visit),
        "joint_officers": queries.joint_officers(visit),
        "joint_departments": queries.joint_departments(visit),
        "attachments": queries.attachments_of(ParentKind.VISIT, visit.id),
        "can_attach": queries.can_attach(current_user, ParentKind.VISIT, visit),
        "attach_form": AttachmentForm(formdata=None),
        "plans": list(db.session.scalars(select(VisitPlan).where(VisitPlan.visit_id == visit.id))),
        "kind": ParentKind.VISIT,
    }


def plan_summary(user) -> dict:
    """The workbench's line: this month's plan (done / planned) and visits made, joint ones included."""
    today = clock.today()
    month = queries.month_start(today)
    planned, done = db.session.execute(select(func.count(), func.count(VisitPlan.visit_id)).where(
        VisitPlan.officer_id == user.id, VisitPlan.month == month)).one()
    visits, joint = queries.my_visits_count(user, month, today)
    return {"planned": planned, "done": done, "visits": visits, "joint": joint, "month": month}


def attachments_context(kind: str, parent) -> dict:
    """The attachments panel of a record's page (visit, need)."""
    return {"attachments": queries.attachments_of(kind, parent.id), "kind": kind, "parent": parent,
            "can_attach": queries.can_attach(current_user, kind, parent), "attach_form": AttachmentForm(formdata=None)}


def visit_form_evidence(enterprise, visit=None) -> dict:
    """The visit form's evidence part: joint officers and departments to choose, the check-in, the 14-day warning."""
    from crm.evidence.forms import VisitEvidenceForm

    form = VisitEvidenceForm()
    form.joint_officer_ids.choices = choices((u.id, f"{u.name}（{u.role_label}）")
                                             for u in queries.joint_candidates(current_user)
                                             if visit is None or u.id != visit.officer_id)
    form.department_ids.choices = choices((d.id, d.name) for d in service_queries.departments())
    if visit is not None and request.method == "GET":
        form.joint_officer_ids.data = [u.id for u in queries.joint_officers(visit)]
        form.department_ids.data = [d.id for d in queries.joint_departments(visit)]
    check_in_id = _int(request.values.get("check_in") or form.check_in_id.data)
    check_in = (queries.open_check_in(current_user, check_in_id, enterprise)
                if visit is None and enterprise is not None else None)
    form.check_in_id.data = check_in.id if check_in else ""
    recent = queries.recent_visits_by_others(enterprise, current_user) if enterprise is not None else []
    return {"form": form, "check_in": check_in, "check_in_id": check_in.id if check_in else None, "recent": recent,
            "days": queries.RECENT_VISIT_DAYS, "max_mb": _max_mb(), "visit": visit}
