"""The ladder's pages: certifications, readiness inputs (more come with the readiness panel)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.audit import register_field_labels
from crm.core.policy import require, signed_in
from crm.core.uow import unit_of_work
from crm.core.validation import form_status
from crm.core.web import id_or_none
from crm.enterprises import queries as enterprise_queries
from crm.enterprises.views import child_of, editable, readable
from crm.extensions import db
from crm.ladder import services
from crm.ladder.forms import CertificationForm, ReadinessInputsForm
from crm.ladder.models import Certification

bp = Blueprint("ladder", __name__, url_prefix="/enterprises/<int:enterprise_id>")
# The candidate pool and the batches of sheets built from it.
candidates_bp = Blueprint("candidates", __name__, url_prefix="/candidates")
# The admins' settings of the rule sets (regional thresholds, options), versioned.
rules_bp = Blueprint("rules", __name__, url_prefix="/admin/rules")

register_field_labels("certifications", CertificationForm)  # the trail names the fields in words (core.audit)


@bp.route("/certifications/new", methods=["GET", "POST"])
@bp.route("/certifications/<int:cert_id>/edit", methods=["GET", "POST"])
@require("enterprise.edit")
def certification_form(enterprise_id: int, cert_id: int | None = None):
    """Record or correct a certification; the expiry is computed unless typed."""
    enterprise = editable(enterprise_id)
    cert = child_of(Certification, enterprise, cert_id) if cert_id else None
    form = CertificationForm(obj=cert)
    if cert is not None and not cert.expiry_overridden and not form.is_submitted():
        form.expires_on.data = None  # keep it computed unless the officer types one
    if form.validate_on_submit():
        data = {name: form[name].data for name in services.CERTIFICATION_FIELDS if name != "expiry_overridden"}
        with unit_of_work(form) as work:
            if cert is None:
                services.record_certification(enterprise, data, actor=current_user)
            else:
                services.update_certification(cert, data, actor=current_user, version=form.version.data)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="ladder"), code=303)
    return render_template("ladder/certification_form.html", form=form, e=enterprise, cert=cert), form_status(form)


@bp.post("/certifications/<int:cert_id>/revoke")
@require("enterprise.edit")
def certification_revoke(enterprise_id: int, cert_id: int):
    """Revoke a certification (it stays on the timeline)."""
    enterprise = editable(enterprise_id)
    services.revoke_certification(child_of(Certification, enterprise, cert_id), actor=current_user)
    db.session.commit()
    flash(_("The certification has been revoked."), "success")
    return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="ladder"), code=303)


@bp.route("/readiness/inputs", methods=["GET", "POST"])
@require("enterprise.edit")
def readiness_inputs(enterprise_id: int):
    """The yes/no facts and the 高企 judgement items that no figure holds."""
    enterprise = editable(enterprise_id)
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
    return render_template("ladder/inputs_form.html", form=form, e=enterprise, inputs=inputs), form_status(form)


# --- candidate pool ---


def _pool_filters():
    """Tier (default high_tech), region and officer ("", an id, "none") from the query string."""
    from flask import request

    from crm.ladder.tiers import Tier
    from crm.service.queries import parse_officer_filter

    tier = request.args.get("tier", Tier.HIGH_TECH.value)
    if tier not in {t.value for t in Tier}:
        tier = Tier.HIGH_TECH.value
    region = request.args.get("region", "")
    return tier, id_or_none(region), parse_officer_filter(request.args.get("officer"))


@candidates_bp.get("", endpoint="index")
@require("registry.read")
def candidate_pool_page():
    """The candidate pool for a tier, closest first, 50 a page."""
    from crm.core.i18n import current_language
    from crm.core.policy import Role
    from crm.ladder import queries
    from crm.ladder.tiers import Tier
    from crm.service.queries import officer_choices

    tier, region_id, officer = _pool_filters()
    page, counts = queries.candidate_page(current_user, tier, region_id=region_id, officer=officer,
                                          lang="en" if current_language() == "en" else "zh")
    scope = current_user.region_id if current_user.role != Role.ADMIN else None
    return render_template("ladder/candidates.html", page=page, tier=tier, region_id=region_id,
                           tiers=list(Tier), counts=counts, officer=officer,
                           officer_choices=officer_choices(current_user),
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

    tier, region_id, officer = _pool_filters()
    pool = queries.candidate_pool(current_user, tier, region_id=region_id, officer=officer,
                                  lang="en" if current_language() == "en" else "zh")
    headers = [_("Rank"), _("Enterprise name"), _("Unified social credit code"), _("Region"), _("Current tier"),
               _("Verdict"), _("Criteria not met"), _("Criteria unknown"), _("Gaps")]
    rows = ([c.rank, c.enterprise.name, c.enterprise.uscc, c.enterprise.region.name,
             str(tier_label(c.enterprise.current_tier)), verdict_label(c.verdict), c.failing, c.unknown,
             "；".join(c.gaps)] for c in pool)
    name = _("Candidate pool") + f"-{tier_label(tier)}-{today().isoformat()}.xlsx"
    return xlsx_response(name, str(tier_label(tier)), headers, rows)


# --- readiness panel and what-if ---


# The unit of each what-if field, as the engine names units (display.format_measure reads them).
WHATIF_UNITS = {"rd_expense": "万元", "hightech_revenue": "万元", "revenue": "万元", "tech_staff": "persons",
                "ip_class1": "items", "ip_class2": "items"}


def engine_lang() -> str:
    """The rules engine's language for the current user: "en" for English, else "zh"."""
    from crm.core.i18n import current_language

    return "en" if current_language() == "en" else "zh"


def readiness_context(enterprise, tier: str | None = None, whatif_form=None, additions: dict | None = None,
                      *, portal: bool = False) -> dict:
    """What templates/ladder/_readiness.html reads as `r` (the enterprise page includes the panel too).

    `tier` None: the next tier above the current one (the top tier's own criteria for a holder of it).
    `portal`: the enterprise's own view (crm.portal): the same engine and wording, its links to the portal's
    pages, and nothing meant for officers (no what-if, coaching, data-entry links or criterion notes).
    """
    from crm.ladder import queries as ladder_queries
    from crm.ladder.display import ruleset_version_label
    from crm.ladder.engine import FIELD_NAMES
    from crm.ladder.forms import WhatIfForm
    from crm.ladder.profile import TECH_DOMAINS
    from crm.ladder.tiers import Tier
    from crm.service.queries import can_record

    can_edit = not portal and enterprise_queries.can_edit_enterprise(current_user, enterprise)
    if tier is None:
        tier = ladder_queries.next_tier_after(enterprise.current_tier) or enterprise.current_tier
    lang = engine_lang()
    panel = ladder_queries.readiness_panel(enterprise, tier, lang=lang, additions=additions)
    missing = [{"text": m["text"], "url": _missing_url(enterprise, m, panel.figure_ids) if can_edit else None}
               for m in panel.missing]
    # named under the score unless the missing-data list names them already
    listed = any(m["field"].startswith("judgement.") for m in panel.missing)
    judgement_missing = [] if listed else [FIELD_NAMES[f"judgement.{name}"][lang == "en"]
                                           for name in panel.judgement_missing]
    if portal:
        url = lambda code: url_for("portal.readiness", tier=code)  # noqa: E731
        sheet_url = lambda code, sheet_lang: url_for("portal.readiness_sheet", tier=code, lang=sheet_lang)  # noqa: E731
    else:
        url = lambda code: url_for("ladder.readiness", enterprise_id=enterprise.id, tier=code)  # noqa: E731
        sheet_url = lambda code, sheet_lang: url_for(  # noqa: E731
            "ladder.readiness_sheet", enterprise_id=enterprise.id, tier=code, lang=sheet_lang)
    return {"e": enterprise, "panel": panel, "tier": tier, "tiers": list(Tier), "lang": lang, "can_edit": can_edit,
            "portal": portal, "url": url, "sheet_url": sheet_url,
            # officers turn a gap into a coaching follow-up ("coach on R&D bookkeeping")
            "can_coach": not portal and can_record(current_user, enterprise),
            "missing": missing, "judgement_missing": judgement_missing,
            "ruleset_label": ruleset_version_label(panel.result["ruleset"]), "whatif_units": WHATIF_UNITS,
            # criteria whose requirement is "any of the eight domains": said in words, not listed
            "any_domain": {c["id"] for c in panel.result["criteria"]
                           if isinstance(c["required"], list) and set(c["required"]) == set(TECH_DOMAINS)},
            "whatif_form": (whatif_form or WhatIfForm()) if can_edit else None}


def _missing_url(enterprise, item: dict, figure_ids: dict) -> str:
    """Where a missing input of the readiness panel is entered."""
    field, year, eid = item["field"], item["year"], enterprise.id
    if year is not None:
        if year in figure_ids:
            return url_for("enterprises.figures_form", enterprise_id=eid, figures_id=figure_ids[year])
        return url_for("enterprises.figures_form", enterprise_id=eid, year=year)
    if field.startswith(("flags.", "judgement.")):
        return url_for("ladder.readiness_inputs", enterprise_id=eid)
    if field == "ip":
        return url_for("enterprises.ip_form", enterprise_id=eid)
    if field == "certifications":
        return url_for("ladder.certification_form", enterprise_id=eid)
    if field in ("established_on", "tech_domain"):
        return url_for("enterprises.edit", enterprise_id=eid)
    return url_for("enterprises.detail", enterprise_id=eid, _anchor="figures")  # conversions: in each year's row


@bp.get("/readiness")
@signed_in
def readiness(enterprise_id: int):
    """Readiness for one tier (?tier=, default the next one); whatif=1 adds the form's values to the latest
    year and shows the verdict on the changed figures. A GET: nothing is saved, so no CSRF token is needed."""
    from flask import request

    from crm.core.htmx import is_htmx, render_page_or_fragment
    from crm.ladder.forms import WhatIfForm
    from crm.ladder.tiers import TIER_LABELS

    enterprise = readable(enterprise_id)
    tier = request.args.get("tier") or None
    if tier is not None and tier not in TIER_LABELS:
        abort(404)
    form = additions = None
    status = 200
    if request.args.get("whatif") == "1":
        if not enterprise_queries.can_edit_enterprise(current_user, enterprise):
            abort(403)
        form = WhatIfForm(request.args)
        if form.validate():
            additions = form.additions()
        elif not is_htmx():
            status = 422  # htmx swaps only 2xx answers: it gets the fragment with the errors and a 200
    context = readiness_context(enterprise, tier, form, additions)
    response = make_response(render_page_or_fragment("ladder/readiness.html", "ladder/_readiness.html", r=context),
                             status)
    response.vary.add("HX-Request")
    if form is not None and form.errors and is_htmx():
        response.headers["HX-Reswap"] = "innerHTML show:#whatif:top"  # keep the fields with errors in view
    return response


# --- rule settings ---
# The admins' settings of the rule sets: each save is a new version (ladder.services.save_ruleset_version),
# in force at once; old versions stay readable. Every route needs `rules.manage` (admins).

from crm.ladder.display import ruleset_version_label  # noqa: E402

rules_bp.add_app_template_filter(ruleset_version_label, "ruleset_version")


@rules_bp.app_template_global("ruleset_text")
def _ruleset_text(value, default=""):
    """A rule set's text ({"zh", "en"} or one string for both) in the user's language."""
    from crm.core.i18n import current_language

    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value.get("en" if current_language() == "en" else "zh") or value.get("zh") or default
    return default


def _rules_tier(tier: str) -> str:
    from crm.ladder.engine import TIERS

    if tier not in TIERS:
        abort(404)
    return tier


def _as_int(text) -> int | None:
    try:
        return int(str(text))
    except (TypeError, ValueError):
        return None


def _rules_status(*forms) -> int:
    return 422 if any(f.errors or f.form_errors for f in forms) else 200


@rules_bp.get("")
@require("rules.manage")
def index():
    """The five tiers, each with the rule set in force, who changed it last, and its versions."""
    from crm.ladder import queries as ladder_queries
    from crm.ladder.engine import REGIONAL_TIERS, TIERS, shipped_ruleset_dicts

    shipped = shipped_ruleset_dicts()
    newest = ladder_queries.newest_ruleset_versions()
    versions = {tier: ladder_queries.ruleset_versions(tier) for tier in TIERS}
    names = ladder_queries.user_names(v.created_by_id for rows in versions.values() for v in rows)
    tiers = []
    for tier in TIERS:
        row = newest.get(tier)
        data = row.data if row is not None else shipped[tier]
        criteria = services.rule_criteria(tier, data)
        same_as_shipped = not services.ruleset_diff(shipped[tier], data)
        national_outdated = (tier not in REGIONAL_TIERS and row is not None and bool(services.ruleset_diff(
            services.without_options(shipped[tier]), services.without_options(data))))
        tiers.append({"tier": tier, "regional": tier in REGIONAL_TIERS, "data": data, "row": row,
                      "criteria": criteria, "versions": versions[tier], "names": names,
                      "same_as_shipped": same_as_shipped, "national_outdated": national_outdated})
    from crm.ladder.engine import REGIONAL_NOTICE

    return render_template("ladder/rules.html", tiers=tiers, regional_notice=REGIONAL_NOTICE)


@rules_bp.route("/<tier>/edit", methods=["GET", "POST"])
@require("rules.manage")
def edit(tier: str):
    """Thresholds, switches, names and options of a tier's rule set (national tiers: options only), or the
    whole rule set as JSON; saving makes a new version that is in force at once."""
    import json

    from flask import request

    from crm.ladder import queries as ladder_queries
    from crm.ladder.engine import KINDS, REGIONAL_NOTICE, REGIONAL_TIERS, shipped_ruleset_dicts
    from crm.ladder.forms import RuleSetJsonForm, rule_settings_form

    tier = _rules_tier(tier)
    version, in_force = ladder_queries.ruleset_in_force(tier)
    base = services.rule_form_base(tier, in_force)
    criteria = services.rule_criteria(tier, base)
    json_text = json.dumps(in_force, ensure_ascii=False, indent=2)
    json_mode = request.method == "POST" and "json-ruleset" in request.form
    idle = {"formdata": None}
    form = rule_settings_form(criteria, based_on=version, **(idle if json_mode else {}))
    json_form = RuleSetJsonForm(prefix="json", data={"ruleset": json_text, "based_on": str(version)},
                                **({} if json_mode else idle))
    active = json_form if json_mode else form
    status = 200
    if request.method == "POST" and active.validate_on_submit():
        based_on = _as_int(active.based_on.data)
        if based_on != version:
            # Someone saved a newer version meanwhile: show it, keep the note, and say so.
            note = active.note.data
            form = rule_settings_form(criteria, based_on=version, **idle)
            json_form = RuleSetJsonForm(prefix="json", data={"ruleset": json_text, "based_on": str(version)}, **idle)
            active = json_form if json_mode else form
            active.note.data = note
            active.form_errors.append(services.stale_message(tier, based_on or 0))
            status = 409
        else:
            if json_mode:
                new = None
            else:
                values = {name: field.data for name, field in form._fields.items()}
                new = services.apply_rule_settings(tier, base, values)
            with unit_of_work(active) as work:
                if new is None:
                    new = services.parse_ruleset_json(active.ruleset.data)
                row = services.save_ruleset_version(tier, new, active.note.data, actor=current_user,
                                                    based_on=based_on)
            if work.ok:
                flash(_("Saved as local version %(n)s of the rule set; it is in force from now on.",
                        n=row.version), "success")
                stale = services.relabel_warnings(services.ruleset_diff(in_force, row.data), row.data)
                if stale:
                    flash(_("You changed the numbers of %(ids)s but not their names. The names are shown on "
                            "readiness pages and sheets: check that they still quote the right numbers.",
                            ids=", ".join(stale)), "warning")
                return redirect(url_for("rules.version", tier=tier, version=row.version), code=303)
    if status == 200:
        status = _rules_status(form, json_form)
    national_outdated = tier not in REGIONAL_TIERS and bool(services.ruleset_diff(
        services.without_options(shipped_ruleset_dicts()[tier]), services.without_options(in_force)))
    return render_template("ladder/rules_edit.html", tier=tier, version=version, data=in_force,
                           criteria=criteria, form=form, json_form=json_form, json_open=json_mode,
                           regional=tier in REGIONAL_TIERS, national_outdated=national_outdated,
                           same_as_shipped=not services.ruleset_diff(shipped_ruleset_dicts()[tier], in_force),
                           unit_name=services.unit_name, regional_notice=REGIONAL_NOTICE, kinds=list(KINDS)), status


@rules_bp.post("/<tier>/restore")
@require("rules.manage")
def restore(tier: str):
    """A new version with the shipped defaults (after a confirm dialog)."""
    from types import SimpleNamespace

    from crm.ladder import queries as ladder_queries
    from crm.ladder.engine import shipped_ruleset_dicts

    tier = _rules_tier(tier)
    _version, in_force = ladder_queries.ruleset_in_force(tier)
    if not services.ruleset_diff(in_force, shipped_ruleset_dicts()[tier]):
        flash(_("The shipped defaults are already in force; nothing was saved."), "info")
        return redirect(url_for("rules.edit", tier=tier), code=303)
    refusals = SimpleNamespace(_fields={}, form_errors=[])
    with unit_of_work(refusals) as work:
        row = services.restore_shipped_ruleset(tier, actor=current_user)
    if not work.ok:
        flash(" ".join(refusals.form_errors), "danger")
        return redirect(url_for("rules.edit", tier=tier), code=303)
    flash(_("The shipped defaults are restored as local version %(n)s; they are in force from now on.",
            n=row.version), "success")
    return redirect(url_for("rules.version", tier=tier, version=row.version), code=303)


@rules_bp.get("/<tier>/versions/<int:version>")
@require("rules.manage")
def version(tier: str, version: int):
    """One version of a tier's rule set (0: the one shipped with the system): its criteria and
    thresholds, who saved it, when and why, and what changed from the version before."""
    import json

    from crm.ladder import queries as ladder_queries
    from crm.ladder.engine import REGIONAL_TIERS

    tier = _rules_tier(tier)
    data = ladder_queries.ruleset_data(tier, version)
    if data is None:
        abort(404)
    row = ladder_queries.ruleset_version(tier, version) if version else None
    previous = ladder_queries.ruleset_data(tier, version - 1) if version > 0 else None
    changes = services.ruleset_diff(previous, data) if previous is not None else {}
    current = ladder_queries.current_ruleset_version(tier)
    numbers = [0] + sorted(v.version for v in ladder_queries.ruleset_versions(tier))
    author = ladder_queries.user_names([row.created_by_id]).get(row.created_by_id) if row else None
    return render_template("ladder/rules_version.html", tier=tier, version=version, data=data, row=row,
                           author=author, current=current, numbers=numbers, regional=tier in REGIONAL_TIERS,
                           criteria=services.rule_criteria(tier, data),
                           changes=services.describe_changes(changes, previous or {}, data),
                           json_text=json.dumps(data, ensure_ascii=False, indent=2))


# --- readiness sheets ---


@bp.get("/readiness/sheet.pdf", endpoint="readiness_sheet")
@signed_in
def readiness_sheet(enterprise_id: int):
    """The readiness sheet (认定准备情况表) of one enterprise as a PDF: ?tier= (default: the next tier), ?lang=zh|en."""
    from flask import current_app, request

    from crm.ladder import documents
    from crm.ladder.engine import TIERS

    enterprise = readable(enterprise_id)
    lang = documents.parse_lang(request.args.get("lang"))
    tier = request.args.get("tier") or documents.default_tier(enterprise)
    if lang is None or tier not in TIERS:
        abort(400)
    pdf = documents.readiness_sheet_pdf(enterprise, tier, user=current_user, lang=lang)
    name = documents.sheet_filename(enterprise.uscc, tier, lang)
    response = current_app.response_class(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = documents.content_disposition(
        name, documents.sheet_filename(enterprise.uscc, tier, "en"))
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _sheet_batch(batch_id: int):
    """A batch its creator (or an admin) may see; 404 for anyone else."""
    from crm.core.policy import Role
    from crm.ladder.models import SheetBatch

    batch = db.session.get(SheetBatch, batch_id)
    if batch is None or (batch.created_by_id != current_user.id and current_user.role != Role.ADMIN):
        abort(404)
    return batch


@candidates_bp.post("/sheets", endpoint="sheet_batch_new")
@require("registry.read")
def sheet_batch_new():
    """Start a ZIP of readiness sheets for the candidate pool's filter (tier, region; lang), built in the background."""
    from flask import current_app, request

    from crm.ladder import documents, queries
    from crm.ladder.engine import TIERS

    tier = request.values.get("tier", "")
    region = request.values.get("region", "")
    lang = documents.parse_lang(request.values.get("lang"))
    if tier not in TIERS or lang is None or (region and not region.isdigit()):
        abort(400)
    region_id = int(region) if region else None
    from crm.service.queries import parse_officer_filter

    officer = parse_officer_filter(request.values.get("officer"))
    back = url_for("candidates.index", tier=tier, region=region_id, officer=officer or None)
    # The pool's own list (the user's scope, holders excluded, the officer filter applied), closest first.
    ids = [c.enterprise.id for c in queries.candidate_pool(current_user, tier, region_id=region_id, lang=lang,
                                                           officer=officer)]
    if not ids:
        flash(_("No enterprise matches these filters."), "warning")
        return redirect(back, code=303)
    if len(ids) > documents.BATCH_LIMIT:
        flash(_("%(n)s enterprises match; a batch of sheets holds at most %(max)s. Narrow the filter, "
                "e.g. to one county or park.", n=len(ids), max=documents.BATCH_LIMIT), "warning")
        return redirect(back, code=303)
    batch = documents.new_batch(current_user, tier, lang, region_id, ids)
    db.session.commit()
    documents.start_batch(current_app._get_current_object(), batch.id)
    return redirect(url_for("candidates.sheet_batch", batch_id=batch.id), code=303)


@candidates_bp.get("/sheets/<int:batch_id>", endpoint="sheet_batch")
@require("registry.read")
def sheet_batch(batch_id: int):
    """A batch's progress (the page; htmx polls the same URL for the fragment until the batch ends)."""
    from crm.auth.models import User
    from crm.core.htmx import render_page_or_fragment
    from crm.enterprises.models import Region
    from crm.ladder import documents

    batch = _sheet_batch(batch_id)
    region = db.session.get(Region, batch.region_id) if batch.region_id else None
    return render_page_or_fragment("ladder/batch.html", "ladder/_batch_progress.html", batch=batch,
                                   view=documents.batch_view(batch), region=region,
                                   creator=db.session.get(User, batch.created_by_id))


@candidates_bp.get("/sheets/<int:batch_id>/download", endpoint="sheet_batch_download")
@require("registry.read")
def sheet_batch_download(batch_id: int):
    """The batch's ZIP, once it is built."""
    from flask import send_file

    from crm.ladder import documents
    from crm.ladder.models import SheetBatchStatus

    batch = _sheet_batch(batch_id)
    path = documents.batch_path(batch.id)
    if batch.status != SheetBatchStatus.DONE or not path.is_file():
        abort(404)
    name, fallback = documents.batch_filename(batch)
    response = send_file(path, mimetype="application/zip", max_age=0)
    response.headers["Content-Disposition"] = documents.content_disposition(name, fallback)
    response.headers["Cache-Control"] = "private, no-store"
    return response
