"""Tag pages: the list managers keep, a tag's form, the refresh of a rule tag; tagging an enterprise."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.audit import register_field_labels
from crm.core.forms import choices
from crm.core.policy import Role, require
from crm.core.uow import unit_of_work
from crm.core.validation import ValidationFailed, form_status
from crm.enterprises.queries import region_choices
from crm.extensions import db
from crm.ladder.engine import FIELD_NAMES
from crm.ladder.tiers import Tier, tier_label
from crm.ladder.views import engine_lang
from crm.tags import queries, services
from crm.tags.forms import EnterpriseTagForm, TagForm
from crm.tags.models import TAG_KIND_LABELS, Tag

bp = Blueprint("tags", __name__)

register_field_labels("tags", TagForm)


@bp.get("/tags")
@require("tags.manage")
def index():
    """The tags the user sees, with how many enterprises carry each."""
    tags = queries.visible_tags(current_user, active_only=False)
    return render_template("tags/index.html", tags=tags, counts=queries.tag_counts([t.id for t in tags]),
                           can_manage=lambda t: queries.can_manage_tag(current_user, t), kind_labels=TAG_KIND_LABELS)


def _prepare(form: TagForm) -> None:
    if current_user.role == Role.ADMIN:
        form.allowed_regions = [("", _("Every region")), *region_choices()]
    else:
        form.allowed_regions = region_choices(within=current_user.region_id)
    form.region_id.choices = choices(form.allowed_regions)
    form.tiers_held.choices = choices((t.value, str(tier_label(t.value))) for t in Tier)
    lang = 1 if engine_lang() == "en" else 0
    form.growth_field.choices = choices([("", "—"), *((f, FIELD_NAMES[f][lang]) for f in queries.GROWTH_FIELDS)])


def _conditions(form: TagForm) -> dict:
    values = {name: form[name].data for name in TagForm.CONDITIONS}
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in values.items()}


@bp.route("/tags/new", methods=["GET", "POST"], endpoint="new")
@bp.route("/tags/<int:tag_id>/edit", methods=["GET", "POST"], endpoint="edit")
@require("tags.manage")
def form(tag_id: int | None = None):
    """Add or change a tag; a tag by rule states conditions the ladder's engine evaluates."""
    tag = None
    if tag_id is not None:
        tag = queries.get_tag_for(current_user, tag_id)
        if tag is None:
            abort(404)
        if not queries.can_manage_tag(current_user, tag):
            abort(403)
    data = None
    if tag is not None and request.method == "GET":
        amounts = ("min_revenue", "min_rd_ratio", "min_tech_staff_ratio", "min_growth_pct")
        data = {**{n: getattr(tag, n) for n in TagForm.FIELDS},
                **{k: Decimal(str(v)) if k in amounts else v for k, v in (tag.conditions or {}).items()}}
    form = TagForm(data=data)
    _prepare(form)
    if form.validate_on_submit():
        region_id = form.region_id.data
        if current_user.role != Role.ADMIN and region_id not in dict(form.allowed_regions):
            abort(403)
        values = {name: form[name].data for name in TagForm.FIELDS}
        with unit_of_work(form) as work:
            if tag is None:
                tag = services.create_tag(values, _conditions(form), actor=current_user)
            else:
                services.update_tag(tag, values, _conditions(form), actor=current_user)
            if tag.kind == "rule":
                services.refresh_rule_tag(tag, actor=current_user)
        if work.ok:
            flash(_("Tag “%(name)s” saved.", name=tag.name), "success")
            return redirect(url_for("tags.index"), code=303)
    return render_template("tags/form.html", form=form, tag=tag), form_status(form)


@bp.post("/tags/<int:tag_id>/refresh")
@require("tags.manage")
def refresh(tag_id: int):
    """Re-evaluate a rule tag now (the nightly job does it for all)."""
    tag = queries.get_tag_for(current_user, tag_id)
    if tag is None:
        abort(404)
    if not queries.can_manage_tag(current_user, tag):
        abort(403)
    try:
        added, removed = services.refresh_rule_tag(tag, actor=current_user)
    except ValidationFailed:
        db.session.rollback()
        flash(_("Only tags by rule are refreshed."), "warning")
        return redirect(url_for("tags.index"), code=303)
    db.session.commit()
    flash(_("“%(name)s”: %(added)d enterprises tagged, %(removed)d untagged.", name=tag.name, added=added,
            removed=removed), "success")
    return redirect(url_for("tags.index"), code=303)


def _back(enterprise_id: int):
    return redirect(url_for("enterprises.detail", enterprise_id=enterprise_id) + "#tags", code=303)


@bp.post("/enterprises/<int:enterprise_id>/tags")
@require("enterprise.edit")
def add(enterprise_id: int):
    """Put a manual tag on an enterprise (those who may edit it)."""
    from crm.enterprises.views import editable

    enterprise = editable(enterprise_id)
    form = EnterpriseTagForm()
    tag = queries.get_tag_for(current_user, form.tag_id.data) if form.validate_on_submit() and form.tag_id.data else None
    if tag is None:
        flash(_("Choose a tag."), "warning")
        return _back(enterprise.id)
    try:
        changed = services.tag_enterprise(enterprise, tag, actor=current_user)
    except ValidationFailed as failure:
        db.session.rollback()
        flash(" ".join(str(m) for ms in failure.errors.values() for m in ms), "danger")
        return _back(enterprise.id)
    db.session.commit()
    if changed:
        flash(_("Tagged “%(name)s”.", name=tag.name), "success")
    return _back(enterprise.id)


@bp.post("/enterprises/<int:enterprise_id>/tags/<int:tag_id>/remove")
@require("enterprise.edit")
def remove(enterprise_id: int, tag_id: int):
    """Take a manual tag off an enterprise."""
    from crm.enterprises.views import editable

    enterprise = editable(enterprise_id)
    tag = db.session.get(Tag, tag_id)
    if tag is None:
        abort(404)
    try:
        changed = services.untag_enterprise(enterprise, tag, actor=current_user)
    except ValidationFailed:
        db.session.rollback()
        abort(403)
    db.session.commit()
    if changed:
        flash(_("“%(name)s” removed.", name=tag.name), "success")
    return _back(enterprise.id)
