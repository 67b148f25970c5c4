"""Event pages: the list, an event's form and page with sign-up, attendance and the attendee import."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from crm.core.audit import register_field_labels
from crm.core.forms import choices
from crm.core.policy import Role, require
from crm.core.uow import unit_of_work
from crm.core.validation import form_status
from crm.core.web import paginate
from crm.enterprises.queries import region_choices
from crm.events import queries, services
from crm.events.forms import AttendeeImportForm, EventForm, SignUpForm
from crm.events.models import EVENT_KIND_LABELS, Event
from crm.extensions import db
from crm.policies.queries import active_policies

bp = Blueprint("events", __name__, url_prefix="/events")

register_field_labels("events", EventForm)
register_field_labels("event_attendees", SignUpForm, attended=_l("Attended"))


@bp.get("")
@require("events.read")
def index():
    """Events near the user's region, newest first, with sign-ups and attendance."""
    f = queries.parse_filter(request.args)
    page = paginate(queries.events_query(current_user, f))
    return render_template("events/index.html", page=page, f=f, kinds=EVENT_KIND_LABELS,
                           counts=queries.attendance_counts([e.id for e in page.items]))


def _loaded(event_id: int, manage: bool = False) -> Event:
    event = queries.get_event_for(current_user, event_id)
    if event is None:
        abort(404)
    if manage and not queries.can_manage_event(current_user, event):
        abort(403)
    return event


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@bp.route("/<int:event_id>/edit", methods=["GET", "POST"], endpoint="edit")
@require("events.manage")
def form(event_id: int | None = None):
    """Organise an event or change it (a manager: in their region's subtree)."""
    event = _loaded(event_id, manage=True) if event_id is not None else None
    form = EventForm(obj=event)
    if event is not None and request.method == "GET":
        form.policy_ids.data = [p.id for p in event.policies]
    scope = None if current_user.role == Role.ADMIN else current_user.region_id
    allowed = region_choices(within=scope)
    form.region_id.choices = choices(allowed)
    offered = active_policies() + [p for p in (event.policies if event else []) if not p.active]
    form.policy_ids.choices = choices((p.id, p.title) for p in offered)
    if form.validate_on_submit():
        if form.region_id.data not in dict(allowed):
            abort(403)
        chosen = [p for p in offered if p.id in set(form.policy_ids.data or [])]
        data = {name: form[name].data for name in EventForm.FIELDS}
        with unit_of_work(form) as work:
            if event is None:
                event = services.create_event(data, chosen, actor=current_user)
            else:
                services.update_event(event, data, chosen, actor=current_user)
        if work.ok:
            flash(_("%(topic)s saved.", topic=event.topic), "success")
            return redirect(url_for("events.detail", event_id=event.id), code=303)
    return render_template("events/form.html", form=form, event=event), form_status(form)


def _render(event: Event, status: int = 200, sign_up_form=None, import_form=None, report=None):
    return render_template("events/detail.html", event=event, attendees=queries.attendees(event, current_user),
                           can_manage=queries.can_manage_event(current_user, event),
                           sign_up_form=sign_up_form or SignUpForm(formdata=None),
                           import_form=import_form or AttendeeImportForm(formdata=None), report=report), status


@bp.get("/<int:event_id>")
@require("events.read")
def detail(event_id: int):
    """An event: its policies, who signed up and who attended (enterprises in the user's scope)."""
    return _render(_loaded(event_id))


@bp.post("/<int:event_id>/attendees")
@require("events.manage")
def sign_up(event_id: int):
    """Sign one enterprise of the user's scope up, by its USCC."""
    event = _loaded(event_id, manage=True)
    form = SignUpForm()
    if form.validate_on_submit():
        enterprise = queries.enterprise_by_uscc(current_user, form.uscc.data)
        if enterprise is None:
            form.uscc.errors = [_("No enterprise with this USCC in your scope.")]
        else:
            with unit_of_work(form) as work:
                services.sign_up(event, enterprise, actor=current_user, person=form.person.data)
            if work.ok:
                flash(_("%(name)s has signed up.", name=enterprise.name), "success")
                return redirect(url_for("events.detail", event_id=event.id, _anchor="attendees"), code=303)
    return _render(event, 422, sign_up_form=form)


@bp.post("/<int:event_id>/attendance")
@require("events.manage")
def attendance(event_id: int):
    """Record who attended (ticked); attending informs each enterprise of the policies presented."""
    event = _loaded(event_id, manage=True)
    present = {int(v) for v in request.form.getlist("present") if v.isdigit() and len(v) < 10}
    newly, informed = services.record_attendance(event, queries.attendees(event, current_user), present,
                                                 actor=current_user)
    db.session.commit()
    flash(_("Attendance saved: %(n)d newly present, %(k)d policy notices recorded.", n=newly, k=informed), "success")
    return redirect(url_for("events.detail", event_id=event.id, _anchor="attendees"), code=303)


@bp.get("/attendees-template.xlsx")
@require("events.manage")
def template():
    """An empty attendee list with one example row: the columns the import reads (企业名称 is ignored)."""
    from crm.core.xlsx import xlsx_response
    from crm.io.documents import example_uscc

    # the example row carries the imports' example USCC: the import skips it
    return xlsx_response(_("attendee-list.xlsx"), _("Attendees"), ["统一社会信用代码", "参会人", "企业名称"],
                         [[example_uscc(), _("Zhang San (example, skipped)"), ""]])


@bp.post("/<int:event_id>/attendees/import")
@require("events.manage")
def import_attendees(event_id: int):
    """Sign up (and mark present) the enterprises of an Excel list; any rejected row: nothing written, reported."""
    from crm.io.documents import FileRefused

    event = _loaded(event_id, manage=True)
    form = AttendeeImportForm()
    upload = request.files.get("file")
    if not form.validate_on_submit() or upload is None or not upload.filename:
        form.file.errors = [_("Choose a file.")]
        return _render(event, 422, import_form=form)
    try:
        report = services.import_attendees(event, upload.read(), actor=current_user, scope_user=current_user,
                                           attended=form.attended.data)
    except FileRefused as refused:
        db.session.rollback()
        form.file.errors = [str(refused.message)]
        return _render(event, 422, import_form=form)
    if report.rejected:
        db.session.rollback()
        return _render(db.session.get(Event, event_id), 422, import_form=form, report=report)
    db.session.commit()
    flash(_("The list is imported: %(new)d signed up, %(old)d already there, %(present)d marked present.",
            new=report.signed_up, old=report.already, present=report.attended), "success")
    return redirect(url_for("events.detail", event_id=event.id, _anchor="attendees"), code=303)

