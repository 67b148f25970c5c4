"""The policy catalogue's pages: the list every bureau user reads, the forms managers and admins keep it with."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core import clock
from crm.core.audit import register_field_labels
from crm.core.policy import require
from crm.core.uow import unit_of_work
from crm.core.validation import form_status
from crm.core.web import paginate
from crm.extensions import db
from crm.policies import queries, services
from crm.policies.forms import PolicyForm
from crm.policies.models import WINDOW_STATE_LABELS, Policy

bp = Blueprint("policies", __name__, url_prefix="/policies")

register_field_labels("policies", PolicyForm)  # the trail names the fields in words (core.audit)


@bp.get("")
@require("service.read")
def index():
    """The catalogue: search by title or document no., active/inactive/all, 50 a page, with visits citing each."""
    f = queries.parse_filter(request.args)
    page = paginate(queries.policy_list(f))
    counts = queries.citation_counts(current_user, [p.id for p in page.items])
    return render_template("policies/index.html", page=page, f=f, counts=counts, today=clock.today(),
                           window_labels=WINDOW_STATE_LABELS)


def _data(form: PolicyForm) -> dict:
    return {name: form[name].data for name in PolicyForm.FIELDS}


@bp.route("/new", methods=["GET", "POST"])
@require("policies.manage")
def new():
    """Add a policy to the catalogue."""
    form = PolicyForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            policy = services.create_policy(_data(form), actor=current_user)
        if work.ok:
            flash(_("%(title)s has been added to the policy list.", title=policy.title), "success")
            return redirect(url_for("policies.index"), code=303)
    return render_template("policies/form.html", form=form, policy=None), form_status(form)


@bp.route("/<int:policy_id>/edit", methods=["GET", "POST"])
@require("policies.manage")
def edit(policy_id: int):
    """Change a policy (visits that cited it show the new wording)."""
    policy = db.get_or_404(Policy, policy_id)
    form = PolicyForm(obj=policy)
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            services.update_policy(policy, _data(form), actor=current_user)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("policies.index"), code=303)
    return render_template("policies/form.html", form=form, policy=policy), form_status(form)


@bp.post("/<int:policy_id>/deactivate")
@require("policies.manage")
def deactivate(policy_id: int):
    """No longer offer the policy on visits (it stays on the visits that cited it)."""
    policy = db.get_or_404(Policy, policy_id)
    if services.deactivate_policy(policy, actor=current_user):
        db.session.commit()
        flash(_("%(title)s is no longer offered on visits.", title=policy.title), "success")
    return redirect(url_for("policies.index", state="all"), code=303)


@bp.post("/<int:policy_id>/reactivate")
@require("policies.manage")
def reactivate(policy_id: int):
    """Offer the policy on visits again."""
    policy = db.get_or_404(Policy, policy_id)
    if services.reactivate_policy(policy, actor=current_user):
        db.session.commit()
        flash(_("%(title)s is offered on visits again.", title=policy.title), "success")
    return redirect(url_for("policies.index", state="all"), code=303)
