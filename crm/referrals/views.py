"""Referrals' pages: the department's own list and need page (answer, more time, send back), the 督办 list of
escalated referrals, and the call-back (回访) form on a resolved need."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core import clock
from crm.core.audit import action_label
from crm.core.policy import require
from crm.core.uow import unit_of_work
from crm.core.web import paginate
from crm.extensions import db
from crm.referrals import queries, services
from crm.referrals.forms import AnswerForm, CallbackForm, ExtendForm, ReturnForm
from crm.referrals.models import REFERRAL_STATUS_LABELS, Referral
from crm.service import queries as service_queries
from crm.service.models import Need

bp = Blueprint("referrals", __name__)


def _own(referral_id: int) -> Referral:
    """A referral of the signed-in department user's department, else 404 (others' do not exist for them)."""
    referral = db.session.get(Referral, referral_id)
    if referral is None or not queries.can_answer(current_user, referral):
        abort(404)
    return referral


@bp.get("/department/needs", endpoint="inbox")
@require("referrals.answer")
def inbox():
    """The needs referred to the user's department: awaiting its answer first, by deadline, 50 a page."""
    state = request.args.get("state", "todo")
    state = state if state in queries.INBOX_STATES else "todo"
    page = paginate(queries.department_referrals(current_user, state))
    return render_template("referrals/inbox.html", page=page, state=state, today=clock.today(),
                           statuses=REFERRAL_STATUS_LABELS)


def _render(referral: Referral, status: int = 200, **forms):
    history = queries.referral_history(referral)
    return render_template(
        "referrals/referral.html", r=referral, need=referral.need, contact=queries.primary_contact(
            referral.need.enterprise), history=history, names=service_queries.actor_names(history),
        action_label=action_label, today=clock.today(),
        answer_form=forms.get("answer") or AnswerForm(formdata=None),
        extend_form=forms.get("extend") or ExtendForm(formdata=None),
        return_form=forms.get("return_") or ReturnForm(formdata=None)), status


@bp.get("/department/referrals/<int:referral_id>", endpoint="referral")
@require("referrals.answer")
def referral(referral_id: int):
    """One referred need: the enterprise, its contact, the need, the referral's history, and what to do."""
    return _render(_own(referral_id))


def _act(referral_id: int, form_cls, key: str, action, done: str):
    referral = _own(referral_id)
    form = form_cls()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            action(referral, form)
        if work.ok:
            flash(done, "success")
            return redirect(url_for("referrals.referral", referral_id=referral.id), code=303)
    referral = db.session.get(Referral, referral_id)
    return _render(referral, 422, **{key: form})


@bp.post("/department/referrals/<int:referral_id>/answer", endpoint="answer")
@require("referrals.answer")
def answer(referral_id: int):
    """Answer the need: it goes back to its owner, answered."""
    return _act(referral_id, AnswerForm, "answer",
                lambda r, f: services.answer_referral(r, f.answer.data, actor=current_user),
                _("Your answer has been sent to the need's owner."))


@bp.post("/department/referrals/<int:referral_id>/extend", endpoint="extend")
@require("referrals.answer")
def extend(referral_id: int):
    """Ask for more working days, with a reason (the owner and the referrer are told)."""
    return _act(referral_id, ExtendForm, "extend",
                lambda r, f: services.extend_referral(r, f.days.data, f.reason.data, actor=current_user),
                _("The deadline has been moved."))


@bp.post("/department/referrals/<int:referral_id>/return", endpoint="return_")
@require("referrals.answer")
def return_(referral_id: int):
    """Send the need back to its owner, with the reason."""
    return _act(referral_id, ReturnForm, "return_",
                lambda r, f: services.return_referral(r, f.reason.data, actor=current_user),
                _("The need has been sent back to its owner."))


@bp.get("/referrals/overdue", endpoint="overdue")
@require("referrals.oversee")
def overdue():
    """督办: referrals past their deadline without an answer, escalated to the managers of the region."""
    page = paginate(queries.overdue_referrals(current_user))
    return render_template("referrals/overdue.html", page=page, today=clock.today())


@bp.post("/needs/<int:need_id>/callback", endpoint="callback")
@require("service.write")
def callback(need_id: int):
    """Record the call-back (回访) on a resolved need; not satisfied reopens it."""
    from crm.service.views import _render_need, _status_form

    need = db.session.get(Need, need_id)
    if need is None or not service_queries.can_read_service(current_user, need.enterprise):
        abort(404)
    if not service_queries.can_work_need(current_user, need):
        abort(403)
    form = CallbackForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            record = services.record_callback(need, form.values(), actor=current_user)
        if work.ok:
            flash(_("The call-back has been recorded.") if record.satisfied else
                  _("The call-back has been recorded; the need is reopened."), "success")
            return redirect(url_for("service.need_detail", need_id=need.id), code=303)
        need = db.session.get(Need, need_id)
    return _render_need(need, _status_form(need), 422, callback_form=form)
