"""The ladder's pages: certifications, readiness inputs (more come with the readiness panel)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.policy import require
from crm.core.uow import unit_of_work
from crm.enterprises import queries as enterprise_queries
from crm.extensions import db
from crm.ladder import services
from crm.ladder.forms import CertificationForm, ReadinessInputsForm
from crm.ladder.models import Certification

bp = Blueprint("ladder", __name__, url_prefix="/enterprises/<int:enterprise_id>")
# The candidate pool and the batches of sheets built from it.
candidates_bp = Blueprint("candidates", __name__, url_prefix="/candidates")
# The admins' settings of the rule sets (regional thresholds, options), versioned.
rules_bp = Blueprint("rules", __name__, url_prefix="/admin/rules")


def _editable(enterprise_id: int):
    enterprise = enterprise_queries.get_enterprise_for(current_user, enterprise_id)
    if enterprise is None:
        abort(404)
    if not enterprise_queries.can_edit_enterprise(current_user, enterprise):
        abort(403)
    return enterprise


def _certification(enterprise, cert_id: int) -> Certification:
    cert = db.session.get(Certification, cert_id)
    if cert is None or cert.enterprise_id != enterprise.id:
        abort(404)
    return cert


def _status(form) -> int:
    return 422 if form.errors or form.form_errors else 200


@bp.route("/certifications/new", methods=["GET", "POST"])
@bp.route("/certifications/<int:cert_id>/edit", methods=["GET", "POST"])
@require("enterprise.edit")
def certification_form(enterprise_id: int, cert_id: int | None = None):
    """Record or correct a certification; the expiry is computed unless typed."""
    enterprise = _editable(enterprise_id)
    cert = _certification(enterprise, cert_id) if cert_id else None
    form = CertificationForm(obj=cert)
    if cert is not None and not cert.expiry_overridden and not form.is_submitted():
        form.expires_on.data = None  # keep it computed unless the officer types one
    if form.validate_on_submit():
        data = {name: form[name].data for name in services.CERTIFICATION_FIELDS if name != "expiry_overridden"}
        with unit_of_work(form) as work:
            if cert is None:
                services.record_certification(enterprise, data, actor=current_user)
            else:
                services.update_certification(cert, data, actor=current_user)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="ladder"), code=303)
    return render_template("ladder/certification_form.html", form=form, e=enterprise, cert=cert), _status(form)


@bp.post("/certifications/<int:cert_id>/revoke")
@require("enterprise.edit")
def certification_revoke(enterprise_id: int, cert_id: int):
    """Revoke a certification (it stays on the timeline)."""
    enterprise = _editable(enterprise_id)
    services.revoke_certification(_certification(enterprise, cert_id), actor=current_user)
    db.session.commit()
    flash(_("The certification has been revoked."), "success")
    return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="ladder"), code=303)


@bp.route("/readiness/inputs", methods=["GET", "POST"])
@require("enterprise.edit")
def readiness_inputs(enterprise_id: int):
    """The yes/no facts and the 高企 judgement items that no figure holds."""
    enterprise = _editable(enterprise_id)
    inputs = services.inputs_for(enterprise)
    form = ReadinessInputsForm(obj=inputs)
    if form.validate_on_submit():
        data = {name: form[name].value for name in form.FLAGS}
        data.update({name: form[name].data for name in form.JUDGEMENT})
        with unit_of_work(form) as work:
            services.save_readiness_inputs(enterprise, data, actor=current_user)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="readiness"), code=303)
    return render_template("ladder/inputs_form.html", form=form, e=enterprise), _status(form)


# --- candidate pool ---


def _pool_filters():
    """Tier (default high_tech) and region from the query string."""
    from flask import request

    from crm.ladder.tiers import Tier

    tier = request.args.get("tier", Tier.HIGH_TECH.value)
    if tier not in {t.value for t in Tier}:
        tier = Tier.HIGH_TECH.value
    region = request.args.get("region", "")
    return tier, int(region) if region.isdigit() else None


@candidates_bp.get("", endpoint="index")
@require("registry.read")
def candidate_pool_page():
    """The candidate pool for a tier, closest first, 50 a page."""
    from crm.core.i18n import current_language
    from crm.core.policy import Role
    from crm.core.web import list_page
    from crm.ladder import queries
    from crm.ladder.tiers import Tier

    tier, region_id = _pool_filters()
    pool = queries.candidate_pool(current_user, tier, region_id=region_id,
                                  lang="en" if current_language() == "en" else "zh")
    counts = {v: sum(1 for c in pool if c.verdict == v) for v in ("ready", "incomplete", "not_ready")}
    scope = current_user.region_id if current_user.role != Role.ADMIN else None
    return render_template("ladder/candidates.html", page=list_page(pool), tier=tier, region_id=region_id,
                           tiers=list(Tier), counts=counts,
                           region_choices=enterprise_queries.region_choices(within=scope))


@candidates_bp.get("/export.xlsx", endpoint="export")
@require("registry.read")
def candidate_pool_export():
    """The whole ranked pool as an Excel sheet."""
    from crm.core.clock import today
    from crm.core.i18n import current_language
    from crm.core.xlsx import xlsx_response
    from crm.ladder import queries
    from crm.ladder.display import verdict_label
    from crm.ladder.tiers import tier_label

    tier, region_id = _pool_filters()
    pool = queries.candidate_pool(current_user, tier, region_id=region_id,
                                  lang="en" if current_language() == "en" else "zh")
    headers = [_("Rank"), _("Enterprise name"), _("Unified social credit code"), _("Region"), _("Current tier"),
               _("Verdict"), _("Criteria not met"), _("Criteria unknown"), _("Gaps")]
    rows = ([c.rank, c.enterprise.name, c.enterprise.uscc, c.enterprise.region.name,
             str(tier_label(c.enterprise.current_tier)), verdict_label(c.verdict), c.failing, c.unknown,
             "；".join(c.gaps)] for c in pool)
    name = _("Candidate pool") + f"-{tier_label(tier)}-{today().isoformat()}.xlsx"
    return xlsx_response(name, str(tier_label(tier)), headers, rows)
