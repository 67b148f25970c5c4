"""Partner pages: the list, a partner's form and page; referring a need with consent; referrals; results per year."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core import clock
from crm.core.audit import register_field_labels
from crm.core.forms import choices
from crm.core.policy import Role, require
from crm.core.uow import unit_of_work
from crm.core.validation import ValidationFailed, attach_errors, form_status
from crm.core.web import list_page, paginate
from crm.enterprises.queries import region_choices
from crm.extensions import db
from crm.partners import documents, queries, services
from crm.partners.forms import PartnerForm, ReferralForm, ReferralStatusForm
from crm.partners.models import (
    CONSENT_MODE_LABELS,
    PARTNER_KIND_LABELS,
    PARTNER_REFERRAL_STATUS_LABELS,
    REFERRAL_TRANSITIONS,
    PartnerReferral,
)
from crm.service.models import NEED_CATEGORY_LABELS, Need

bp = Blueprint("partners", __name__)

register_field_labels("partners", PartnerForm)
register_field_labels("partner_referrals", ReferralForm, ReferralStatusForm)


@bp.get("/partners")
@require("partners.read")
def index():
    """Partners near the user's region: search, kind, speciality."""
    f = queries.parse_filter(request.args)
    partners = queries.with_speciality(list(db.session.scalars(queries.partners_query(current_user, f))), f.speciality)
    return render_template("partners/index.html", page=list_page(partners), f=f, kinds=PARTNER_KIND_LABELS,
                           categories=NEED_CATEGORY_LABELS,
                           can_manage=lambda p: queries.can_manage_partner(current_user, p))


def _loaded(partner_id: int):
    partner = queries.get_partner_for(current_user, partner_id)
    if partner is None:
        abort(404)
    return partner


@bp.get("/partners/<int:partner_id>")
@require("partners.read")
def detail(partner_id: int):
    """A partner and the referrals to it of enterprises in the user's scope."""
    partner = _loaded(partner_id)
    page = paginate(queries.referrals_query(current_user, queries.ReferralFilter(partner_id=partner.id)))
    return render_template("partners/detail.html", partner=partner, page=page, categories=NEED_CATEGORY_LABELS,
                           can_manage=queries.can_manage_partner(current_user, partner))


@bp.route("/partners/new", methods=["GET", "POST"], endpoint="new")
@bp.route("/partners/<int:partner_id>/edit", methods=["GET", "POST"], endpoint="edit")
@require("partners.manage")
def form(partner_id: int | None = None):
    """Add or change a partner (a manager: in their region's subtree)."""
    partner = None
    if partner_id is not None:
        partner = _loaded(partner_id)
        if not queries.can_manage_partner(current_user, partner):
            abort(403)
    form = PartnerForm(obj=partner)
    scope = None if current_user.role == Role.ADMIN else current_user.region_id
    allowed = region_choices(within=scope)
    form.region_id.choices = choices(allowed)
    form.specialities.choices = choices((k, str(v)) for k, v in NEED_CATEGORY_LABELS.items())
    if form.validate_on_submit():
        if form.region_id.data not in dict(allowed):
            abort(403)
        data = {name: form[name].data for name in PartnerForm.FIELDS}
        with unit_of_work(form) as work:
            if partner is None:
                partner = services.create_partner(data, actor=current_user)
            else:
                services.update_partner(partner, data, actor=current_user)
        if work.ok:
            flash(_("%(name)s saved.", name=partner.name), "success")
            return redirect(url_for("partners.detail", partner_id=partner.id), code=303)
    return render_template("partners/form.html", form=form, partner=partner), form_status(form)


def _need(need_id: int) -> Need:
    """A need the user may change (its record rule, crm.service): else 404 unseen, 403 read-only."""
    from crm.service.queries import can_read_service, can_work_need

    need = db.session.get(Need, need_id)
    if need is None or not can_read_service(current_user, need.enterprise):
        abort(404)
    if not can_work_need(current_user, need):
        abort(403)
    return need


@bp.route("/needs/<int:need_id>/refer", methods=["GET", "POST"])
@require("service.write")
def refer(need_id: int):
    """Refer a need to a partner, recording the enterprise's consent (who, when, how)."""
    need = _need(need_id)
    partners = queries.partners_for_need(current_user, need)
    form = ReferralForm(data={"consent_on": clock.today()} if request.method == "GET" else None)
    form.partner_id.choices = choices((p.id, f"{p.name}（{p.kind_label}）") for p in partners)
    if form.validate_on_submit():
        partner = next((p for p in partners if p.id == form.partner_id.data), None)
        if partner is None:
            form.partner_id.errors = [_("Choose a partner.")]
        else:
            with unit_of_work(form) as work:
                services.refer_need(need, partner, consent_by=form.consent_by.data, consent_on=form.consent_on.data,
                                    consent_mode=form.consent_mode.data, actor=current_user)
            if work.ok:
                flash(_("The need has been referred to %(name)s.", name=partner.name), "success")
                return redirect(url_for("service.need_detail", need_id=need.id, _anchor="referrals"), code=303)
    return render_template("partners/refer.html", form=form, need=need), form_status(form)


@bp.get("/partner-referrals")
@require("partners.read")
def referrals():
    """Referrals of the enterprises in the user's scope: status, partner, year."""
    f = queries.parse_referral_filter(request.args)
    page = paginate(queries.referrals_query(current_user, f))
    partners = list(db.session.scalars(queries.partners_query(current_user, queries.PartnerFilter())))
    return render_template("partners/referrals.html", page=page, f=f, statuses=PARTNER_REFERRAL_STATUS_LABELS,
                           partners=partners)


def _referral(referral_id: int) -> PartnerReferral:
    from crm.service.queries import can_read_service

    referral = db.session.get(PartnerReferral, referral_id)
    if referral is None or not can_read_service(current_user, referral.enterprise):
        abort(404)
    if not queries.can_work_referral(current_user, referral):
        abort(403)
    return referral


@bp.route("/partner-referrals/<int:referral_id>/status", methods=["GET", "POST"])
@require("service.write")
def referral_status(referral_id: int):
    """Move a referral: accepted, in progress, succeeded (with the loan, the contract) or failed."""
    referral = _referral(referral_id)
    form = ReferralStatusForm()
    form.status.choices = choices((s, str(PARTNER_REFERRAL_STATUS_LABELS[s])) for s in REFERRAL_TRANSITIONS[referral.status])
    if form.validate_on_submit():
        try:
            services.move_referral(referral, form.status.data, actor=current_user, loan_amount=form.loan_amount.data,
                                   contract_amount=form.contract_amount.data, outcome_note=form.outcome_note.data)
        except ValidationFailed as failure:
            db.session.rollback()
            referral = db.session.get(PartnerReferral, referral_id)
            attach_errors(form, failure)
        else:
            db.session.commit()
            flash(_("The referral is now “%(status)s”.", status=referral.status_label), "success")
            return redirect(url_for("service.need_detail", need_id=referral.need_id, _anchor="referrals"), code=303)
    return render_template("partners/referral_status.html", form=form, referral=referral,
                           consent_modes=CONSENT_MODE_LABELS), form_status(form)


def _year() -> int:
    raw = request.args.get("year", "")
    return int(raw) if raw.isdigit() and len(raw) == 4 else clock.today().year


@bp.get("/partners/results")
@require("partners.results")
def results():
    """Each partner's year: referrals, success rate, loans and contracts (万元), for the user's scope."""
    year = _year()
    return render_template("partners/results.html", rows=queries.results(current_user, year), year=year)


@bp.get("/partners/results.xlsx")
@require("partners.results")
def results_export():
    """The partner results of the year as Excel."""
    year = _year()
    body = documents.results_xlsx(queries.results(current_user, year), year)
    name = quote(_("Partner results %(year)s", year=year) + ".xlsx")
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=partners.xlsx; filename*=UTF-8''{name}"})
