"""The registry's pages: list, enterprise page, profile/contacts/figures/IP editing, regions."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.core.audit import AuditEvent, field_label, register_field_labels
from crm.core.htmx import render_page_or_fragment
from crm.core.policy import Role, can, require, signed_in
from crm.core.uow import unit_of_work
from crm.core.validation import form_status
from crm.core.web import id_or_none, paginate
from crm.credit import queries as credit_queries
from crm.enterprises import queries, services
from crm.enterprises.forms import ContactForm, EnterpriseForm, FiguresForm, IPForm, RegionForm
from crm.enterprises.industries import division_choices, industry_label
from crm.enterprises.models import (
    ENTERPRISE_STATUS_LABELS,
    FIGURE_SOURCE_LABELS,
    TECH_DOMAIN_LABELS,
    AnnualFigures,
    Contact,
    Enterprise,
    FigureReport,
    FigureSource,
    IntellectualProperty,
    Region,
)
from crm.extensions import db
from crm.ladder import queries as ladder_queries
from crm.ladder.tiers import CANDIDATE, TIER_LABELS, Tier

bp = Blueprint("enterprises", __name__, url_prefix="/enterprises")
regions_bp = Blueprint("regions", __name__, url_prefix="/admin/regions")

# the trail names the fields of these records in words (core.audit)
register_field_labels("enterprises", EnterpriseForm)
register_field_labels("enterprise_contacts", ContactForm)
register_field_labels("annual_figures", FiguresForm, source=_l("Source"))
register_field_labels("intellectual_property", IPForm)
register_field_labels("regions", RegionForm)


def read_filter(args=None) -> queries.RegistryFilter:
    """The registry's filter from a query string (or from the bulk form's hidden fields)."""
    from crm.service.queries import parse_officer_filter

    args = request.args if args is None else args
    region = args.get("region", "")
    return queries.RegistryFilter(
        q=args.get("q", "").strip()[:100],
        region_id=id_or_none(region),
        tier=args.get("tier", "") if args.get("tier", "") in {CANDIDATE, *TIER_LABELS} else "",
        industry=args.get("industry", "").strip()[:5],
        tech_domain=args.get("domain", "") if args.get("domain", "") in TECH_DOMAIN_LABELS else "",
        above_scale=args.get("above", "") if args.get("above") in ("yes", "no") else "",
        status=args.get("status", "") if args.get("status", "") in ENTERPRISE_STATUS_LABELS else "",
        archived=args.get("archived", "") if args.get("archived") in ("include", "only") else "",
        officer=parse_officer_filter(args.get("officer")),
        tag=int(args.get("tag")) if (args.get("tag") or "").isdigit() and len(args.get("tag")) < 10 else None,
        grade=args.get("grade", "") if args.get("grade", "") in ("A", "B", "C", "D") else "",
        sort=args.get("sort", "name") if args.get("sort") in queries.SORTS else "name",
        desc=args.get("desc") == "1",
    )


_read_filter = read_filter


def filter_args(f: queries.RegistryFilter) -> dict:
    """The query-string arguments of a filter (empty ones left out): links back and the bulk form's hidden fields."""
    args = {"q": f.q, "region": f.region_id or "", "tier": f.tier, "industry": f.industry, "domain": f.tech_domain,
            "above": f.above_scale, "status": f.status, "archived": f.archived, "officer": f.officer, "tag": f.tag or "",
            "sort": f.sort if f.sort != "name" else "", "desc": "1" if f.desc else ""}
    return {k: v for k, v in args.items() if v}


def readable(enterprise_id: int) -> Enterprise:
    """Load an enterprise the current user may read; 403 for roles that read none, 404 outside their scope.

    Enterprise users read their own enterprise in the portal (crm.portal), never on the bureau's pages: 403.
    """
    if not can(current_user, "registry.read"):
        abort(403)
    enterprise = queries.get_enterprise_for(current_user, enterprise_id)
    if enterprise is None:
        abort(404)
    return enterprise


def editable(enterprise_id: int) -> Enterprise:
    """Load an enterprise the current user may edit; 404 outside their scope, 403 inside but read-only."""
    enterprise = queries.get_enterprise_for(current_user, enterprise_id)
    if enterprise is None:
        abort(404)
    if not queries.can_edit_enterprise(current_user, enterprise):
        abort(403)
    return enterprise


@bp.get("")
@require("registry.read")
def index():
    """The registry: search, filters, sort, 50 a page; htmx swaps only the results."""
    from crm.service import queries as service_queries
    from crm.service.services import BULK_LIMIT
    from crm.tags.queries import visible_tags

    f = _read_filter()
    page = paginate(queries.registry_query(current_user, f))
    scope = current_user.region_id if current_user.role != Role.ADMIN else None
    return render_page_or_fragment(
        "enterprises/index.html", "enterprises/_results.html",
        page=page, f=f, region_choices=queries.region_choices(within=scope),
        officer_choices=service_queries.officer_choices(current_user), filter_args=filter_args(f),
        tag_choices=[(t.id, t.name) for t in visible_tags(current_user)],
        bulk_limit=BULK_LIMIT,
        divisions=division_choices(), industry_label=industry_label, tiers=list(Tier),
        domain_labels=TECH_DOMAIN_LABELS, status_labels=ENTERPRISE_STATUS_LABELS,
    )


@bp.route("/new", methods=["GET", "POST"])
@require("enterprise.create")
def new():
    """Register an enterprise in a region of the user's scope; an officer who registers it serves it."""
    from crm.service.services import assign_creator

    form = EnterpriseForm()
    scope = current_user.region_id if current_user.role != Role.ADMIN else None
    form.region_id.choices = dict(queries.region_choices(within=scope))
    if form.validate_on_submit():
        if not queries.can_create_in_region(current_user, form.region_id.data):
            abort(403)
        with unit_of_work(form) as work:
            enterprise = services.create_enterprise(_enterprise_data(form), actor=current_user)
            assign_creator(enterprise, current_user, actor=current_user)
        if work.ok:
            flash(_("%(name)s has been registered.", name=enterprise.name), "success")
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id), code=303)
    return render_template("enterprises/form.html", form=form, enterprise=None,
                           divisions=division_choices()), form_status(form)


def _enterprise_data(form: EnterpriseForm) -> dict:
    return {name: form[name].data for name in services.ENTERPRISE_FIELDS}


@bp.get("/<int:enterprise_id>")
@signed_in
def detail(enterprise_id: int):
    """The enterprise page: profile, contacts, figures by year with ratios, IP."""
    from crm.ladder.views import readiness_context

    enterprise = readable(enterprise_id)
    ip_counts = {1: 0, 2: 0}
    for item in enterprise.ip_items:
        if item.is_valid:
            ip_counts[item.ip_class] += 1
    return render_template(
        "enterprises/detail.html", e=enterprise, breadcrumb=queries.region_breadcrumb(enterprise.region),
        industry_label=industry_label, ip_counts=ip_counts, tiers=list(Tier),
        ladder=ladder_queries.ladder_state(enterprise),
        can_edit=queries.can_edit_enterprise(current_user, enterprise),
        readiness=readiness_context(enterprise), **_service_officer_context(enterprise),
        **_tags_context(enterprise), credit_entries=credit_queries.active_entries_of(enterprise),
        **_provenance_context(enterprise),
    )


FIGURE_CELLS = (("revenue", "money"), ("hightech_revenue", "money"), ("rd_expense", "money"),
                ("rd_expense_domestic", "money"), ("total_cost", "money"), ("total_assets", "money"),
                ("net_assets", "money"), ("employees", "int"), ("tech_staff", "int"), ("rd_staff", "int"),
                ("conversions", "int"))
REASON_LABELS = {"rank": _l("its source ranks higher"), "recent": _l("same rank: the latest report"),
                 "fits": _l("the higher-ranked value exceeds its total")}


def _provenance_context(enterprise: Enterprise) -> dict:
    """The figures' sources: every report of the enterprise (one query), the disagreements, the priority."""
    ranks = queries.source_ranks()
    groups: dict[int, list[str]] = {}
    for source, rank in ranks.items():
        groups.setdefault(rank, []).append(str(FIGURE_SOURCE_LABELS[FigureSource(source)]))
    order = " > ".join(" = ".join(names) for _rank, names in sorted(groups.items()))
    return {"provenance": queries.figures_provenance(enterprise), "figure_cells": FIGURE_CELLS, "ranks": ranks,
            "source_labels": {s.value: label for s, label in FIGURE_SOURCE_LABELS.items()},
            "reason_labels": REASON_LABELS, "priority_text": order}


def _tags_context(enterprise: Enterprise) -> dict:
    """The enterprise page's tags (and the manual tags the user may add), its events and partner referrals."""
    from crm.events.models import Event, EventAttendee
    from crm.partners.models import PartnerReferral
    from crm.tags import queries as tag_queries

    can_tag = queries.can_edit_enterprise(current_user, enterprise)
    # the events it signed up for and its referrals to partners (the page's "Events and partners" card)
    events = db.session.execute(select(Event, EventAttendee.attended).join(
        EventAttendee, EventAttendee.event_id == Event.id).where(EventAttendee.enterprise_id == enterprise.id)
        .order_by(Event.held_on.desc()).limit(10)).all()
    referrals = list(db.session.scalars(select(PartnerReferral).options(joinedload(PartnerReferral.partner)).where(
        PartnerReferral.enterprise_id == enterprise.id).order_by(PartnerReferral.referred_on.desc()).limit(10)))
    return {"tags": tag_queries.tags_of(enterprise), "events_joined": events, "referrals": referrals,
            "taggable": tag_queries.taggable(current_user, enterprise) if can_tag else [], "can_tag": can_tag}


def _service_officer_context(enterprise: Enterprise) -> dict:
    """The enterprise page's service-officer line: the current one, the history, who may be chosen."""
    from crm.service import queries as service_queries

    manage = service_queries.can_manage_assignment(current_user, enterprise)
    reads_service = service_queries.can_read_service(current_user, enterprise)
    return {"service": service_queries.service_summary(enterprise) if reads_service else None,
            "can_record": service_queries.can_record(current_user, enterprise),
            "assignment": service_queries.current_assignment(enterprise),
            "assignment_history": (service_queries.assignment_history(enterprise)
                                   if can(current_user, "registry.read") else []),
            "assignable_officers": service_queries.officers_for(enterprise) if manage else [],
            "can_assign": manage}


@bp.route("/<int:enterprise_id>/edit", methods=["GET", "POST"])
@require("enterprise.edit")
def edit(enterprise_id: int):
    """Edit the profile."""
    enterprise = editable(enterprise_id)
    form = EnterpriseForm(obj=enterprise)
    scope = current_user.region_id if current_user.role != Role.ADMIN else None
    form.region_id.choices = dict(queries.region_choices(within=scope))
    if form.validate_on_submit():
        if not queries.can_create_in_region(current_user, form.region_id.data):
            abort(403)
        with unit_of_work(form) as work:
            services.update_enterprise(enterprise, _enterprise_data(form), actor=current_user,
                                       version=form.version.data)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id), code=303)
    return render_template("enterprises/form.html", form=form, enterprise=enterprise,
                           divisions=division_choices()), form_status(form)


@bp.post("/<int:enterprise_id>/archive")
@require("enterprise.archive")
def archive(enterprise_id: int):
    """Archive (hide from lists; never deleted)."""
    enterprise = editable(enterprise_id)
    services.archive_enterprise(enterprise, actor=current_user)
    db.session.commit()
    flash(_("%(name)s has been archived.", name=enterprise.name), "success")
    return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id), code=303)


@bp.post("/<int:enterprise_id>/restore")
@require("enterprise.archive")
def restore(enterprise_id: int):
    """Restore an archived enterprise."""
    enterprise = editable(enterprise_id)
    services.restore_enterprise(enterprise, actor=current_user)
    db.session.commit()
    flash(_("%(name)s has been restored.", name=enterprise.name), "success")
    return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id), code=303)


# --- contacts -----------------------------------------------------------------------------


def child_of(model, enterprise: Enterprise, child_id: int):
    """A record of `model` that belongs to `enterprise`, else 404 (ids of another enterprise's rows lead nowhere)."""
    item = db.session.get(model, child_id)
    if item is None or item.enterprise_id != enterprise.id:
        abort(404)
    return item


@bp.route("/<int:enterprise_id>/contacts/new", methods=["GET", "POST"])
@bp.route("/<int:enterprise_id>/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@require("enterprise.edit")
def contact_form(enterprise_id: int, contact_id: int | None = None):
    """Add or edit a contact person."""
    enterprise = editable(enterprise_id)
    contact = child_of(Contact, enterprise, contact_id) if contact_id else None
    form = ContactForm(obj=contact)
    if form.validate_on_submit():
        data = {name: form[name].data or ("" if name != "is_primary" else False) for name in services.CONTACT_FIELDS}
        if contact is None:
            services.add_contact(enterprise, data, actor=current_user)
        else:
            services.update_contact(contact, data, actor=current_user)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="contacts"), code=303)
    return render_template("enterprises/contact_form.html", form=form, e=enterprise, contact=contact), form_status(form)


@bp.post("/<int:enterprise_id>/contacts/<int:contact_id>/delete")
@require("enterprise.edit")
def contact_delete(enterprise_id: int, contact_id: int):
    """Remove a contact person."""
    enterprise = editable(enterprise_id)
    services.remove_contact(child_of(Contact, enterprise, contact_id), actor=current_user)
    db.session.commit()
    flash(_("The contact has been removed."), "success")
    return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="contacts"), code=303)


# --- annual figures -----------------------------------------------------------------------


@bp.route("/<int:enterprise_id>/figures/new", methods=["GET", "POST"])
@bp.route("/<int:enterprise_id>/figures/<int:figures_id>/edit", methods=["GET", "POST"])
@require("enterprise.edit")
def figures_form(enterprise_id: int, figures_id: int | None = None):
    """Enter or correct one year's figures; errors show next to each field, nothing is saved."""
    enterprise = editable(enterprise_id)
    figures = child_of(AnnualFigures, enterprise, figures_id) if figures_id else None
    form = FiguresForm(obj=figures)
    if figures is None and request.method == "GET":
        latest = max((f.year for f in enterprise.figures), default=None)
        asked = request.args.get("year", "")  # the readiness panel's "missing figures of <year>" links
        form.year.data = int(asked) if asked.isdigit() and len(asked) == 4 else (latest + 1) if latest else None
    if form.validate_on_submit():
        data = {name: form[name].data for name in ("year", *FiguresForm.AMOUNTS, *FiguresForm.COUNTS,
                                                     *FiguresForm.EFFICIENCY)}
        with unit_of_work(form) as work:
            saved = services.save_figures(enterprise, data, actor=current_user, figures=figures,
                                          version=form.version.data)
        if work.ok:
            flash(_("The figures for %(year)s have been saved.", year=data["year"]), "success")
            outranked = queries.outranked(saved, FigureSource.OFFICER)
            if outranked:
                flash(_("A higher-ranked source counts for %(fields)s: your values are kept as the officer's report "
                        "and shown beside it.", fields="、".join(
                            str(field_label("annual_figures", name)) for name in outranked)), "warning")
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="figures"), code=303)
    return render_template("enterprises/figures_form.html", form=form, e=enterprise, figures=figures), form_status(form)


@bp.post("/<int:enterprise_id>/figures/<int:figures_id>/verify")
@require("enterprise.edit")
def figures_verify(enterprise_id: int, figures_id: int):
    """Mark a year's figures as verified by the officer."""
    enterprise = editable(enterprise_id)
    services.verify_figures(child_of(AnnualFigures, enterprise, figures_id), actor=current_user)
    db.session.commit()
    flash(_("The figures have been marked as verified."), "success")
    return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="figures"), code=303)


@bp.post("/<int:enterprise_id>/figures/reports/<int:report_id>/confirm")
@require("enterprise.edit")
def figures_report_confirm(enterprise_id: int, report_id: int):
    """Confirm one source's figures of a year (the officer checked them)."""
    enterprise = editable(enterprise_id)
    report = child_of(FigureReport, enterprise, report_id)
    services.confirm_report(report, actor=current_user)
    db.session.commit()
    flash(_("The figures of %(source)s for %(year)s have been confirmed.", source=report.source_label,
            year=report.year), "success")
    return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="figures"), code=303)


# --- intellectual property ----------------------------------------------------------------


@bp.route("/<int:enterprise_id>/ip/new", methods=["GET", "POST"])
@bp.route("/<int:enterprise_id>/ip/<int:ip_id>/edit", methods=["GET", "POST"])
@require("enterprise.edit")
def ip_form(enterprise_id: int, ip_id: int | None = None):
    """Add or edit an IP item."""
    enterprise = editable(enterprise_id)
    item = child_of(IntellectualProperty, enterprise, ip_id) if ip_id else None
    form = IPForm(obj=item)
    if form.validate_on_submit():
        data = {name: form[name].data for name in services.IP_FIELDS}
        data["is_valid"], data["used_in_earlier_application"] = bool(data["is_valid"]), bool(
            data["used_in_earlier_application"])
        with unit_of_work(form) as work:
            services.save_ip(enterprise, data, actor=current_user, item=item)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="ip"), code=303)
    return render_template("enterprises/ip_form.html", form=form, e=enterprise, item=item), form_status(form)


@bp.post("/<int:enterprise_id>/ip/<int:ip_id>/delete")
@require("enterprise.edit")
def ip_delete(enterprise_id: int, ip_id: int):
    """Remove an IP item entered by mistake."""
    enterprise = editable(enterprise_id)
    services.remove_ip(child_of(IntellectualProperty, enterprise, ip_id), actor=current_user)
    db.session.commit()
    flash(_("The item has been removed."), "success")
    return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="ip"), code=303)


# --- audit --------------------------------------------------------------------------------


@bp.get("/<int:enterprise_id>/audit")
@require("audit.read")
def audit_trail(enterprise_id: int):
    """Everything recorded about one enterprise, newest first."""
    enterprise = db.get_or_404(Enterprise, enterprise_id)
    stmt = (select(AuditEvent).where(AuditEvent.enterprise_id == enterprise.id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))
    page = paginate(stmt)
    return render_template("enterprises/audit.html", e=enterprise, page=page)


# --- regions (admin) ----------------------------------------------------------------------


@regions_bp.get("")
@require("regions.manage")
def regions():
    """The region tree with the number of enterprises registered directly in each node."""
    from sqlalchemy import func

    counts = dict(db.session.execute(
        select(Enterprise.region_id, func.count()).where(Enterprise.archived_at.is_(None))
        .group_by(Enterprise.region_id)).all())
    return render_template("admin/regions.html", regions=queries.all_regions(), counts=counts)


@regions_bp.route("/new", methods=["GET", "POST"])
@regions_bp.route("/<int:region_id>/edit", methods=["GET", "POST"])
@require("regions.manage")
def region_form(region_id: int | None = None):
    """Add or edit a region (a move re-paths its subtree)."""
    region = db.get_or_404(Region, region_id) if region_id else None
    form = RegionForm(obj=region)
    if region is None and request.method == "GET" and id_or_none(request.args.get("parent")):
        form.parent_id.data = id_or_none(request.args["parent"])
    form.parent_id.choices = {"": "—"} | dict(queries.region_choices())
    if form.validate_on_submit():
        data = {name: form[name].data for name in services.REGION_FIELDS}
        with unit_of_work(form) as work:
            if region is None:
                services.create_region(data, actor=current_user)
            else:
                services.update_region(region, data, actor=current_user)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("regions.regions"), code=303)
    return render_template("admin/region_form.html", form=form, region=region), form_status(form)
