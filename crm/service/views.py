"""Service work's pages: assignments and the officers' load; visits, needs, follow-ups; referral departments."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from crm.auth.models import User
from crm.core import clock
from crm.core.audit import action_label, register_field_labels
from crm.core.forms import choices
from crm.core.htmx import render_page_or_fragment
from crm.core.policy import Role, require
from crm.core.uow import unit_of_work
from crm.core.validation import ValidationFailed, attach_errors, form_status
from crm.core.web import id_or_none, list_page, paginate
from crm.enterprises import queries as enterprise_queries
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.policies.queries import active_policies
from crm.service import queries, services
from crm.service.forms import (
    NEED_SLOTS,
    DepartmentForm,
    FollowUpDoneForm,
    FollowUpForm,
    NeedForm,
    NeedStatusForm,
    VisitEditForm,
    VisitForm,
)
from crm.service.models import (
    FOLLOW_UP_SOURCE_LABELS,
    NEED_CATEGORY_LABELS,
    NEED_STATUS_LABELS,
    NEED_TRANSITIONS,
    VISIT_MODE_LABELS,
    Department,
    FollowUp,
    FollowUpSource,
    Need,
    Visit,
)

bp = Blueprint("service", __name__)

# the trail names the fields of these records in words (core.audit)
register_field_labels("visits", VisitEditForm, enterprise_id=_l("Enterprise"), officer_id=_l("Officer"))
register_field_labels("needs", NeedForm, NeedStatusForm, enterprise_id=_l("Enterprise"), visit_id=_l("Visit"),
                      status=_l("Status"))
register_field_labels("follow_ups", FollowUpForm, enterprise_id=_l("Enterprise"), need_id=_l("Need"),
                      visit_id=_l("Visit"), source=_l("Source"), done_note=_l("Note"))
register_field_labels("departments", DepartmentForm)


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
    ids = [o.id for o in page.items]
    return render_template("service/load.html", page=page, counts=queries.assigned_counts(current_user, ids),
                           work=queries.load_counts(current_user, ids),
                           unassigned=queries.unassigned_count(current_user))


# --- loaders: 403 for roles without service work, 404 outside the user's scope ---------------------

def _enterprise_for_service(enterprise_id: int | None, *, write: bool = False) -> Enterprise:
    enterprise = enterprise_queries.get_enterprise_for(current_user, enterprise_id) if enterprise_id else None
    if enterprise is None:
        abort(404)
    if write and not queries.can_record(current_user, enterprise):
        abort(403)
    return enterprise


def _load(model, item_id: int, may=None):
    """A visit, need or follow-up whose enterprise the user may read (else 404); with `may` (a record rule of
    crm.service.queries), also one the user may change (else 403: they can see it exists)."""
    item = db.session.get(model, item_id)
    if item is None or not queries.can_read_service(current_user, item.enterprise):
        abort(404)
    if may is not None and not may(current_user, item):
        abort(403)
    return item


def _back(default: str) -> str:
    """Where to return after a form: a safe local `next`, else `default`."""
    from crm.core.security import is_safe_next

    target = request.values.get("next", "")
    return target if target and is_safe_next(target) else default


def _policy_choices(selected=()) -> list:
    """Active policies, plus any already cited by the visit (so editing never drops them silently)."""
    policies = active_policies()
    known = {p.id for p in policies}
    extra = [p for p in selected if p.id not in known]
    return [SelectChoice(value=p.id, label=p.title) for p in [*policies, *extra]]


def _owner_choices(enterprise: Enterprise) -> list:
    return choices([("", _("Default (the enterprise's officer)"))] + [
        (u.id, f"{u.name}（{u.role_label}）") for u in queries.takers_for(enterprise)])


# --- visits ----------------------------------------------------------------------------------------

@bp.route("/visits/new", methods=["GET", "POST"], endpoint="visit_new")
@require("service.write")
def visit_new():
    """Log a visit in one form: enterprise (own first), date, mode, people, summary, policies, needs, follow-up."""
    form = VisitForm()
    preset = request.args.get("enterprise", "")
    enterprise = None
    chosen = form.enterprise_id.data if request.method == "POST" else id_or_none(preset)
    if chosen:
        enterprise = _enterprise_for_service(chosen, write=True)
    form.policy_ids.choices = _policy_choices()
    own = list(db.session.scalars(queries.my_enterprises(current_user).limit(200)))
    pairs = [("", _("Choose…"))] + [(e.id, e.name) for e in own]
    if enterprise is not None and enterprise.id not in {e.id for e in own}:
        pairs.append((enterprise.id, enterprise.name))
    form.enterprise_id.choices = choices(pairs)
    if request.method == "GET":
        form.visited_on.data = clock.today()
        form.enterprise_id.data = enterprise.id if enterprise else None
    # joint officers and departments, the check-in, photos (crm.evidence)
    from crm.evidence import services as evidence_services
    from crm.evidence.views import visit_form_evidence

    evidence = visit_form_evidence(enterprise)
    if form.validate_on_submit() & evidence["form"].validate():
        extra = evidence["form"]
        with unit_of_work(form) as work:
            visit = services.record_visit(
                enterprise, {"visited_on": form.visited_on.data, "mode": form.mode.data,
                             "people_met": form.people_met.data, "summary": form.summary.data,
                             "policy_ids": form.policy_ids.data},
                actor=current_user, needs=form.need_entries(),
                follow_up={"due_on": form.follow_up_on.data, "action": form.follow_up_action.data})
            evidence_services.record_evidence(
                visit, actor=current_user, joint_officer_ids=extra.joint_officer_ids.data,
                department_ids=extra.department_ids.data, check_in_id=evidence["check_in_id"],
                uploads=request.files.getlist("files"))
        if work.ok:
            flash(_("The visit to %(name)s has been logged.", name=enterprise.name), "success")
            for other in evidence["recent"]:
                flash(_("Note: %(officer)s visited %(name)s on %(day)s.", officer=other.officer.name,
                        name=enterprise.name, day=other.visited_on.isoformat()), "warning")
            return redirect(_back(url_for("service.visit_detail", visit_id=visit.id)), code=303)
    return render_template("service/visit_form.html", form=form, enterprise=enterprise, visit=None,
                           need_slots=NEED_SLOTS, evidence=evidence), form_status(form)


@bp.get("/visits/enterprises", endpoint="visit_enterprise_options")
@require("service.write")
def visit_enterprise_options():
    """The visit form's enterprise options for a search (htmx): the user's own first, then others in scope."""
    q = request.args.get("q", "").strip()[:60]
    return render_template("service/_enterprise_options.html",
                           options=queries.enterprise_options(current_user, q), q=q)


@bp.get("/visits/<int:visit_id>", endpoint="visit_detail")
@require("service.read")
def visit_detail(visit_id: int):
    """One visit: what was said, the policies explained, the needs raised and follow-ups planned from it."""
    visit = _load(Visit, visit_id)
    history = queries.visit_history(visit)
    from crm.evidence.views import visit_panel_context

    return render_template("service/visit.html", visit=visit, can_edit=queries.can_edit_visit(current_user, visit),
                           deadline=queries.visit_edit_deadline(visit), history=history,
                           names=queries.actor_names(history), action_label=action_label,
                           evidence=visit_panel_context(visit))


@bp.route("/visits/<int:visit_id>/edit", methods=["GET", "POST"], endpoint="visit_edit")
@require("service.write")
def visit_edit(visit_id: int):
    """Correct a visit: its author for 7 days after recording it, a manager or admin afterwards (audited)."""
    visit = _load(Visit, visit_id, queries.can_edit_visit)
    form = VisitEditForm(obj=visit)
    form.policy_ids.choices = _policy_choices(visit.policies)
    if request.method == "GET":
        form.policy_ids.data = [p.id for p in visit.policies]
    from crm.evidence import services as evidence_services
    from crm.evidence.views import visit_form_evidence

    evidence = visit_form_evidence(visit.enterprise, visit=visit)
    if form.validate_on_submit() & evidence["form"].validate():
        with unit_of_work(form) as work:
            services.update_visit(visit, {"visited_on": form.visited_on.data, "mode": form.mode.data,
                                          "people_met": form.people_met.data, "summary": form.summary.data,
                                          "policy_ids": form.policy_ids.data}, actor=current_user)
            evidence_services.set_joint(visit, evidence["form"].joint_officer_ids.data,
                                        evidence["form"].department_ids.data, actor=current_user)
            evidence_services.match_visit(visit, actor=current_user)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("service.visit_detail", visit_id=visit.id), code=303)
    return render_template("service/visit_form.html", form=form, enterprise=visit.enterprise, visit=visit,
                           need_slots=0, evidence=evidence), form_status(form)


# --- needs -----------------------------------------------------------------------------------------

def read_need_filter(args=None) -> queries.NeedFilter:
    """The needs list's filter from the query string (officers default to their own needs)."""
    args = request.args if args is None else args
    region, age, ent = args.get("region", ""), args.get("age", ""), args.get("enterprise", "")
    default_owner = "me" if current_user.role == Role.OFFICER else ""
    owner = args.get("owner", default_owner)
    return queries.NeedFilter(
        q=args.get("q", "").strip()[:60],
        status=args.get("status", "open") if args.get("status", "open") in ("", "open", "closed",
                                                                            *NEED_STATUS_LABELS) else "open",
        category=args.get("category", "") if args.get("category", "") in NEED_CATEGORY_LABELS else "",
        region_id=int(region) if region.isdigit() and len(region) <= 9 else None,
        owner=owner if owner in ("", "me", "none") or (owner.isdigit() and len(owner) <= 9) else default_owner,
        overdue=args.get("overdue") == "1",
        age=int(age) if age in ("30", "60", "90", "180") else None,
        enterprise_id=int(ent) if ent.isdigit() and len(ent) <= 9 else None,
    )


@bp.get("/needs", endpoint="needs")
@require("service.read")
def needs():
    """The needs board: counts by category and status, and the matching needs, overdue first, 50 a page."""
    f = read_need_filter()
    board, board_as_of = queries.needs_board_counted(current_user, f)
    # the board has counted these needs already: no second COUNT over the same rows
    page = paginate(queries.needs_query(current_user, f), count=False)
    page.total = queries.needs_total(f, board)
    scope = current_user.region_id if current_user.role != Role.ADMIN else None
    return render_page_or_fragment(
        "service/needs.html", "service/_needs_results.html", page=page, f=f, board=board, board_as_of=board_as_of,
        today=clock.today(),
        categories=NEED_CATEGORY_LABELS, statuses=NEED_STATUS_LABELS,
        region_choices=enterprise_queries.region_choices(within=scope), owners=queries.owner_choices(current_user))


@bp.route("/enterprises/<int:enterprise_id>/needs/new", methods=["GET", "POST"], endpoint="need_new")
@require("service.write")
def need_new(enterprise_id: int):
    """Record a need outside a visit (a phone call, a message)."""
    enterprise = _enterprise_for_service(enterprise_id, write=True)
    form = NeedForm()
    form.owner_id.choices = _owner_choices(enterprise)
    if request.method == "GET":
        form.raised_on.data = clock.today()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            need = services.raise_need(enterprise, {
                "category": form.category.data, "title": form.title.data, "description": form.description.data,
                "raised_on": form.raised_on.data, "due_on": form.due_on.data, "owner_id": form.owner_id.data},
                actor=current_user)
        if work.ok:
            flash(_("The need has been recorded."), "success")
            return redirect(url_for("service.need_detail", need_id=need.id), code=303)
    return render_template("service/need_form.html", form=form, enterprise=enterprise, need=None), form_status(form)


def _status_form(need: Need, form: NeedStatusForm | None = None) -> NeedStatusForm:
    form = form or NeedStatusForm(formdata=None, version=need.version)
    form.set_statuses(NEED_TRANSITIONS.get(need.status, ()))
    form.department_id.choices = choices([("", "—")] + [(d.id, d.name) for d in queries.departments()])
    return form


@bp.get("/needs/<int:need_id>", endpoint="need_detail")
@require("service.read")
def need_detail(need_id: int):
    """One need: its details, status with the allowed next steps, follow-ups and its history."""
    need = _load(Need, need_id)
    return _render_need(need, _status_form(need))


def _render_need(need: Need, status_form: NeedStatusForm, status: int = 200, comment_form=None, callback_form=None):
    from crm.evidence.views import attachments_context
    from crm.partners.queries import referrals_of_need
    from crm.referrals import queries as referral_queries
    from crm.referrals.forms import CallbackForm
    from crm.service.forms import NeedCommentForm

    return render_template(
        "service/need.html", evidence=attachments_context("need", need), need=need, status_form=status_form,
        can_work=queries.can_work_need(current_user, need),
        referrals=referral_queries.need_referrals(need), callbacks=referral_queries.need_callbacks(need),
        callback_form=callback_form or CallbackForm(formdata=None),
        comments=queries.need_comments(need, enterprise_view=False),
        comment_form=comment_form or NeedCommentForm(formdata=None),
        can_comment=queries.can_comment_need(current_user, need),
        history=(history := queries.need_history(need)), names=queries.actor_names(history),
        action_label=action_label, today=clock.today(), partner_referrals=referrals_of_need(need),
        statuses=NEED_STATUS_LABELS, follow_ups=list(db.session.scalars(
            select(FollowUp).where(FollowUp.need_id == need.id).order_by(FollowUp.due_on, FollowUp.id))),
    ), status


@bp.post("/needs/<int:need_id>/comments", endpoint="need_comment")
@require("service.write")
def need_comment(need_id: int):
    """Comment on a need: to the enterprise (shown in its portal) or an internal note."""
    from crm.service.forms import NeedCommentForm

    need = _load(Need, need_id, queries.can_comment_need)
    form = NeedCommentForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            services.add_need_comment(need, form.body.data, actor=current_user,
                                      visible_to_enterprise=not form.internal.data)
        if work.ok:
            flash(_("Your comment has been added."), "success")
            return redirect(url_for("service.need_detail", need_id=need.id, _anchor="comments"), code=303)
    return _render_need(need, _status_form(need), 422, comment_form=form)


@bp.post("/needs/<int:need_id>/status", endpoint="need_status")
@require("service.write")
def need_status(need_id: int):
    """Move the need to an allowed status; closing needs a resolution, referring a department."""
    need = _load(Need, need_id, queries.can_work_need)
    form = _status_form(need, NeedStatusForm())
    if form.validate_on_submit():
        try:
            services.change_need_status(need, form.status.data, actor=current_user, version=form.version.data,
                                        resolution=form.resolution.data, department_id=form.department_id.data,
                                        satisfaction=form.satisfaction.data, outcome=form.outcome())
        except ValidationFailed as failure:
            db.session.rollback()
            need = db.session.get(Need, need_id)
            attach_errors(form, failure)
            return _render_need(need, _status_form(need, form), form_status(form))
        db.session.commit()
        flash(_("The need is now “%(status)s”.", status=NEED_STATUS_LABELS[need.status]), "success")
        return redirect(url_for("service.need_detail", need_id=need.id), code=303)
    return _render_need(need, form, 422)


@bp.route("/needs/<int:need_id>/edit", methods=["GET", "POST"], endpoint="need_edit")
@require("service.write")
def need_edit(need_id: int):
    """Change a need's category, title, details, due date or owner (refused when someone saved in between)."""
    need = _load(Need, need_id, queries.can_work_need)
    form = NeedForm(obj=need)
    form.owner_id.choices = _owner_choices(need.enterprise)
    if request.method == "GET":
        form.version.data = need.version
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            services.update_need(need, {"category": form.category.data, "title": form.title.data,
                                        "description": form.description.data,
                                        "due_on": form.due_on.data or need.due_on,
                                        "owner_id": form.owner_id.data}, actor=current_user,
                                 version=form.version.data)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("service.need_detail", need_id=need.id), code=303)
    return render_template("service/need_form.html", form=form, enterprise=need.enterprise,
                           need=need), form_status(form)


# --- follow-ups ------------------------------------------------------------------------------------

@bp.get("/follow-ups", endpoint="follow_ups")
@require("service.read")
def follow_ups():
    """Follow-ups: by default the user's open ones by due date; managers can look at anyone's in scope."""
    state = request.args.get("state", "open")
    state = state if state in queries.FOLLOW_UP_STATES else "open"
    assignee = request.args.get("assignee", "me")
    assignee = assignee if assignee in ("me", "") or (assignee.isdigit() and len(assignee) <= 9) else "me"
    page = paginate(queries.follow_ups_query(current_user, state, assignee))
    return render_template("service/follow_ups.html", page=page, state=state, assignee=assignee,
                           today=clock.today(), owners=queries.owner_choices(current_user),
                           done_form=FollowUpDoneForm(formdata=None))


@bp.route("/follow-ups/new", methods=["GET", "POST"], endpoint="follow_up_new")
@require("service.write")
def follow_up_new():
    """Plan a follow-up for an enterprise, by hand, from a need or from a readiness gap (?action=…)."""
    raw = request.values.get("enterprise", "")
    enterprise = _enterprise_for_service(int(raw) if raw.isdigit() and len(raw) <= 9 else None, write=True)
    need = None
    raw_need = request.values.get("need", "")
    if raw_need.isdigit() and len(raw_need) <= 9:
        need = db.session.get(Need, int(raw_need))
        if need is None or need.enterprise_id != enterprise.id:
            abort(404)
    source = request.values.get("source", "")
    source = FollowUpSource.NEED if need else (source if source == FollowUpSource.READINESS else
                                               FollowUpSource.MANUAL)
    form = FollowUpForm()
    form.assignee_id.choices = choices((u.id, f"{u.name}（{u.role_label}）") for u in queries.takers_for(enterprise))
    if request.method == "GET":
        form.action.data = request.args.get("action", "")[:200]
        form.assignee_id.data = current_user.id
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            services.add_follow_up(enterprise, {"action": form.action.data, "due_on": form.due_on.data,
                                                "assignee_id": form.assignee_id.data},
                                   actor=current_user, need=need, source=source)
        if work.ok:
            flash(_("The follow-up has been planned."), "success")
            default = (url_for("service.need_detail", need_id=need.id) if need else
                       url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="service"))
            return redirect(_back(default), code=303)
    return render_template("service/follow_up_form.html", form=form, enterprise=enterprise, need=need,
                           follow_up=None, source=source, source_label=FOLLOW_UP_SOURCE_LABELS[source]
                           ), form_status(form)


@bp.route("/follow-ups/<int:follow_up_id>/edit", methods=["GET", "POST"], endpoint="follow_up_edit")
@require("service.write")
def follow_up_edit(follow_up_id: int):
    """Change what, who or by when (its assignee, a manager, an admin)."""
    follow_up = _load(FollowUp, follow_up_id, queries.can_work_follow_up)
    form = FollowUpForm(obj=follow_up)
    form.assignee_id.choices = choices((u.id, f"{u.name}（{u.role_label}）")
                                       for u in queries.takers_for(follow_up.enterprise))
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            services.update_follow_up(follow_up, {"action": form.action.data, "due_on": form.due_on.data,
                                                  "assignee_id": form.assignee_id.data}, actor=current_user)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(_back(url_for("service.follow_ups")), code=303)
    return render_template("service/follow_up_form.html", form=form, enterprise=follow_up.enterprise,
                           need=follow_up.need, follow_up=follow_up, source=follow_up.source,
                           source_label=FOLLOW_UP_SOURCE_LABELS.get(follow_up.source, "")), form_status(form)


@bp.post("/follow-ups/<int:follow_up_id>/done", endpoint="follow_up_done")
@require("service.write")
def follow_up_done(follow_up_id: int):
    """Mark a follow-up done with a note (from the workbench, the list or the enterprise page)."""
    follow_up = _load(FollowUp, follow_up_id, queries.can_work_follow_up)
    form = FollowUpDoneForm()
    back = _back(url_for("service.follow_ups"))
    if not form.validate_on_submit():
        for messages in form.errors.values():
            for message in messages:
                flash(str(message), "danger")
        return redirect(back, code=303)
    done = services.complete_follow_up(follow_up, form.note.data, actor=current_user)
    db.session.commit()
    flash(_("Done: %(action)s", action=follow_up.action) if done else _("This follow-up was already done."),
          "success" if done else "info")
    return redirect(back, code=303)


# --- departments needs are referred to (admin) --------------------------------------------------------

@bp.get("/admin/departments", endpoint="departments")
@require("departments.manage")
def departments():
    """The departments a need can be referred to (转办), in the order the form offers them."""
    return render_template("service/departments.html", departments=queries.departments(include_inactive=True),
                           counts=queries.referred_counts())


@bp.route("/admin/departments/new", methods=["GET", "POST"], endpoint="department_form")
@bp.route("/admin/departments/<int:department_id>/edit", methods=["GET", "POST"], endpoint="department_form")
@require("departments.manage")
def department_form(department_id: int | None = None):
    """Add or rename a department, change its place in the list, or take it out of use."""
    department = db.session.get(Department, department_id) if department_id else None
    if department_id and department is None:
        abort(404)
    form = DepartmentForm(obj=department)
    if form.validate_on_submit():
        data = {"name": form.name.data, "position": form.position.data or 0, "active": form.active.data}
        with unit_of_work(form) as work:
            if department is None:
                services.create_department(data, actor=current_user)
            else:
                services.update_department(department, data, actor=current_user)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("service.departments"), code=303)
    return render_template("service/department_form.html", form=form, department=department), form_status(form)


# --- the enterprise timeline and the officer's workbench -------------------------------------------

@bp.get("/enterprises/<int:enterprise_id>/timeline", endpoint="timeline")
@require("service.read")
def timeline(enterprise_id: int):
    """One chronological stream of visits, needs, follow-ups, certifications, assignments and figure updates."""
    enterprise = _enterprise_for_service(enterprise_id)
    kind = request.args.get("kind", "")
    kind = kind if kind in queries.TIMELINE_KINDS else ""
    page = list_page(queries.timeline(enterprise, {kind} if kind else None))
    return render_template("service/timeline.html", e=enterprise, page=page, kind=kind,
                           kinds=queries.TIMELINE_KINDS, statuses=NEED_STATUS_LABELS, categories=NEED_CATEGORY_LABELS,
                           modes=VISIT_MODE_LABELS)


@bp.get("/workbench", endpoint="workbench")
@require("service.read")
def workbench():
    """The officer's landing page: today's and overdue follow-ups, open needs, enterprises to visit, expiries."""
    from flask import current_app

    from crm.core.policy import can
    from crm.portal.queries import pending_count

    days = current_app.config["SERVICE_STALE_DAYS"]
    pending = pending_count(current_user) if can(current_user, "submissions.review") else 0
    # the certification cycle's held tiers at risk among the officer's own enterprises (crm.cycle)
    from crm.cycle.queries import at_risk_count

    risky = 0
    if current_user.role == Role.OFFICER:  # the hourly count when fresh (crm.pipeline), else counted now
        from crm.pipeline.queries import at_risk_of_officer

        risky = at_risk_of_officer(current_user.id)
        if risky is None:
            risky = at_risk_count(current_user, officer=str(current_user.id))
    from crm.evidence.views import plan_summary

    return render_template("service/workbench.html", wb=queries.workbench(current_user, stale_days=days),
                           plan=plan_summary(current_user), stale_days=days, today=clock.today(),
                           pending_submissions=pending, at_risk=risky)


@bp.get("/workbench/policies", endpoint="workbench_policies")
@require("service.read")
def workbench_policies():
    """The workbench's card of policies to tell (loaded by htmx after the page, as the enterprise page's cards:
    its open windows x the officer's qualifying enterprises are the page's costliest read)."""
    # policies whose window is open and the officer's enterprises that qualify and were not told (crm.policies)
    from crm.policies.queries import to_tell

    return render_template("service/_workbench_policies.html", to_tell=to_tell(current_user))
