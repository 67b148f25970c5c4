"""The certification cycle's pages: batches, the board (kanban), moving a card, the list and conversion rates,
held tiers at risk, the enterprise page's card and flags, the monthly bulletins."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core import clock
from crm.core.forms import choices
from crm.core.htmx import is_htmx
from crm.core.policy import Role, require
from crm.core.uow import unit_of_work
from crm.core.validation import ValidationFailed, attach_errors, form_status
from crm.core.web import paginate
from crm.cycle import documents, queries, services
from crm.cycle.forms import BatchForm, BulletinForm, FileForm, FlagForm, MoveForm
from crm.cycle.models import (
    DEADLINE_STAGES,
    FLAG_LABELS,
    PATH,
    STAGE_LABELS,
    Application,
    Batch,
    Stage,
    allowed_moves,
)
from crm.enterprises import queries as enterprise_queries
from crm.enterprises.models import Region
from crm.extensions import db
from crm.ladder.tiers import TIER_LABELS, tier_label

bp = Blueprint("cycle", __name__)

# Moves that ask for more than a click: the certificate, or why it did not pass.
FORM_MOVES = (Stage.CERTIFIED, Stage.NOT_PASSED)


def _scope_region_id() -> int | None:
    return current_user.region_id if current_user.role != Role.ADMIN else None


def _region_choices(manageable: bool = False) -> list:
    return choices([("", "—")] + enterprise_queries.region_choices(within=_scope_region_id()))


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


def _year_arg() -> int:
    year = _int_arg("year")
    today = clock.today()
    return year if year and today.year - 10 <= year <= today.year + 5 else today.year


# --- batches ---------------------------------------------------------------------------------------

@bp.get("/cycle/batches", endpoint="batches")
@require("applications.read")
def batches():
    """The batches covering the user's scope, newest year first, with their applications by stage."""
    year = _int_arg("year")
    page = paginate(queries.batches_query(current_user, year=year))
    return render_template("cycle/batches.html", page=page, year=year, tier_label=tier_label,
                           stage_labels=STAGE_LABELS, deadline_stages=DEADLINE_STAGES)


@bp.route("/cycle/batches/new", methods=["GET", "POST"], endpoint="batch_form")
@bp.route("/cycle/batches/<int:batch_id>/edit", methods=["GET", "POST"], endpoint="batch_form")
@require("batches.manage")
def batch_form(batch_id: int | None = None):
    """Set up a batch (region, year, tier) and its deadlines, or change the deadlines."""
    batch = None
    if batch_id is not None:
        batch = queries.get_batch_for(current_user, batch_id)
        if batch is None:
            abort(404)
        if not queries.can_manage_region(current_user, batch.region_id):
            abort(403)
    form = BatchForm(obj=batch)
    form.region_id.choices = _region_choices()
    if request.method == "GET" and batch is None:
        form.year.data = clock.today().year
        form.region_id.data = current_user.region_id
    if form.validate_on_submit():
        data = {name: form[name].data for name in services.BATCH_FIELDS}
        if batch is not None:  # region, year and tier make the batch; only its deadlines and note change
            data.update(region_id=batch.region_id, year=batch.year, tier=batch.tier)
        with unit_of_work(form) as work:
            saved = services.save_batch(data, actor=current_user, batch=batch)
        if work.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("cycle.board", batch_id=saved.id), code=303)
    return render_template("cycle/batch_form.html", form=form, batch=batch,
                           deadline_stages=DEADLINE_STAGES), form_status(form)


# --- the board -------------------------------------------------------------------------------------

def _board_context(batch: Batch, **extra) -> dict:
    board = queries.board(current_user, batch)
    file_form = extra.pop("file_form", None) or FileForm(formdata=None)
    if current_user.role != Role.ENTERPRISE:
        file_form.enterprise_id.choices = choices([("", _("Choose…"))]
                                                  + queries.enterprise_choices(current_user, batch))
    return dict(batch=batch, board=board, path=PATH, stage_labels=STAGE_LABELS, allowed_moves=allowed_moves,
                form_moves=FORM_MOVES, today=clock.today(), file_form=file_form, tier_label=tier_label,
                can_manage=queries.can_manage_region(current_user, batch.region_id), **extra)


def _batch(batch_id: int) -> Batch:
    batch = queries.get_batch_for(current_user, batch_id)
    if batch is None:
        abort(404)
    return batch


@bp.get("/cycle/batches/<int:batch_id>", endpoint="board")
@require("applications.read")
def board(batch_id: int):
    """The batch's kanban: a column per stage, a card per enterprise (in the user's scope)."""
    batch = _batch(batch_id)
    template = "cycle/_board.html" if is_htmx() else "cycle/board.html"
    return render_template(template, **_board_context(batch))


@bp.post("/cycle/batches/<int:batch_id>/applications", endpoint="file")
@require("applications.write")
def file(batch_id: int):
    """Put an enterprise on the board (intent), for the batch's tier and year."""
    batch = _batch(batch_id)
    form = FileForm()
    form.enterprise_id.choices = []
    if form.validate_on_submit():
        enterprise = enterprise_queries.get_enterprise_for(current_user, form.enterprise_id.data)
        if enterprise is None:
            abort(404)
        with unit_of_work(form) as work:
            services.file_application(batch, enterprise, actor=current_user)
        if work.ok:
            flash(_("%(name)s is on the board.", name=enterprise.name), "success")
            return redirect(url_for("cycle.board", batch_id=batch.id), code=303)
    return render_template("cycle/board.html", **_board_context(batch, file_form=form)), 422


def _application(application_id: int, *, write: bool = False) -> Application:
    application = queries.get_application_for(current_user, application_id)
    if application is None:
        abort(404)
    if write and not queries.can_move(current_user, application.enterprise):
        abort(403)
    return application


def _render_move(application: Application, form: MoveForm, status: int = 200):
    context = dict(a=application, form=form, stage_labels=STAGE_LABELS, tier_label=tier_label, standalone=not is_htmx())
    if is_htmx():
        response = Response(render_template("cycle/_move_form.html", **context), status=status)
        response.headers["HX-Retarget"] = f"#move-{application.id}"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    return render_template("cycle/move.html", **context), status


@bp.get("/cycle/applications/<int:application_id>/move", endpoint="move_form")
@require("applications.write")
def move_form(application_id: int):
    """The small form of a move that asks for more: the certificate (certified) or the reason (not passed)."""
    application = _application(application_id, write=True)
    stage = request.args.get("stage", "")
    if stage not in allowed_moves(application.stage):
        abort(404)
    form = MoveForm(formdata=None, stage=stage, version=application.version)
    if stage == Stage.CERTIFIED:
        form.issued_on.data = clock.today()
    return _render_move(application, form)


@bp.post("/cycle/applications/<int:application_id>/move", endpoint="move")
@require("applications.write")
def move(application_id: int):
    """Move a card: forward one stage, back one (a correction), certified (the certificate) or not passed (why)."""
    application = _application(application_id, write=True)
    form = MoveForm()
    batch_id = application.batch_id
    if form.validate_on_submit():
        try:
            services.move_application(
                application, form.stage.data, actor=current_user, version=form.version.data, on=form.on.data,
                certificate_no=form.certificate_no.data, issued_on=form.issued_on.data, reason=form.reason.data,
                weak_criterion=form.weak_criterion.data, note=form.note.data)
        except ValidationFailed as failure:
            db.session.rollback()
            application = db.session.get(Application, application_id)
            attach_errors(form, failure)
        else:
            db.session.commit()
            message = _("%(name)s: %(stage)s", name=application.enterprise.name,
                        stage=STAGE_LABELS[application.stage])
            if is_htmx():
                batch = db.session.get(Batch, batch_id)
                return render_template("cycle/_board.html", **_board_context(batch, moved=message))
            flash(message, "success")
            return redirect(url_for("cycle.board", batch_id=batch_id, _anchor=f"card-{application.id}"), code=303)
    if form.stage.data in FORM_MOVES or not is_htmx():
        return _render_move(application, form, 422)
    # a one-click move refused (someone moved the card meanwhile, or the move is not allowed): the fresh board
    errors = [str(m) for ms in form.errors.values() for m in ms] + [str(m) for m in form.form_errors]
    batch = db.session.get(Batch, batch_id)
    return render_template("cycle/_board.html", **_board_context(batch, refused=errors)), 422


# --- the list and conversion ----------------------------------------------------------------------

def _filter() -> queries.AppFilter:
    from crm.service.queries import parse_officer_filter

    stage = request.args.get("stage", "")
    tier = request.args.get("tier", "")
    return queries.AppFilter(year=_year_arg(), tier=tier if tier in TIER_LABELS else "",
                             stage=stage if stage in STAGE_LABELS else "", region_id=_int_arg("region"),
                             officer=parse_officer_filter(request.args.get("officer")))


@bp.get("/cycle/applications", endpoint="applications")
@require("applications.read")
def applications():
    """Every application in the user's scope, filtered by year, tier, stage, region and officer, 50 a page."""
    from crm.service.queries import officer_choices

    f = _filter()
    page = paginate(queries.applications_query(current_user, f))
    return render_template("cycle/applications.html", page=page, f=f, stage_labels=STAGE_LABELS,
                           tier_label=tier_label, tiers=TIER_LABELS,
                           regions=enterprise_queries.region_choices(within=_scope_region_id()),
                           officers=officer_choices(current_user), today=clock.today())


@bp.get("/cycle/conversion", endpoint="conversion")
@require("applications.read")
def conversion():
    """How many applications reached each stage, and the share of those filed, for the scope and its sub-regions."""
    f = _filter()
    region = None
    if f.region_id:
        region = db.session.get(Region, f.region_id)
        if region is None or (current_user.role != Role.ADMIN
                              and region.id not in enterprise_queries.subtree_ids(current_user.region_id)):
            abort(404)
    elif current_user.role != Role.ADMIN:
        region = db.session.get(Region, current_user.region_id)
    rows = queries.conversion(current_user, f, region)
    return render_template("cycle/conversion.html", rows=rows, f=f, region=region, path=PATH,
                           stage_labels=STAGE_LABELS, tiers=TIER_LABELS, tier_label=tier_label,
                           regions=enterprise_queries.region_choices(within=_scope_region_id()))


# --- held tiers at risk ------------------------------------------------------------------------------

@bp.get("/cycle/at-risk", endpoint="at_risk")
@require("applications.read")
def at_risk():
    """Held certifications within 18 months of expiry at risk: failing criteria, falling figures, officers' flags."""
    from crm.core.i18n import current_language
    from crm.service.queries import officer_choices, parse_officer_filter

    officer = parse_officer_filter(request.args.get("officer"))
    if current_user.role == Role.OFFICER and "officer" not in request.args:
        officer = str(current_user.id)
    lang = "en" if current_language() == "en" else "zh"
    page = queries.at_risk_page(current_user, region_id=_int_arg("region"), officer=officer, lang=lang)
    return render_template("cycle/at_risk.html", page=page, officer=officer,
                           officers=officer_choices(current_user), tier_label=tier_label, flag_labels=FLAG_LABELS,
                           months=queries.AT_RISK_MONTHS, drop_share=queries.DROP_SHARE,
                           recert_days=queries.RECERT_DAYS,
                           regions=enterprise_queries.region_choices(within=_scope_region_id()),
                           region_id=_int_arg("region"), today=clock.today())


# --- the enterprise page's card ----------------------------------------------------------------------

def _enterprise(enterprise_id: int):
    enterprise = enterprise_queries.get_enterprise_for(current_user, enterprise_id)
    if enterprise is None:
        abort(404)
    return enterprise


def _render_card(enterprise, flag_form=None, status: int = 200):
    return render_template("cycle/_enterprise_card.html", e=enterprise,
                           applications=queries.applications_of(enterprise), flags=queries.flags_of(enterprise),
                           flag_form=flag_form or FlagForm(formdata=None), flag_labels=FLAG_LABELS,
                           can_flag=queries.can_flag(current_user, enterprise), tier_label=tier_label,
                           today=clock.today()), status


@bp.get("/enterprises/<int:enterprise_id>/cycle", endpoint="enterprise_card")
@require("applications.read")
def enterprise_card(enterprise_id: int):
    """The enterprise page's card (loaded by htmx): its applications and the officers' flags."""
    return _render_card(_enterprise(enterprise_id))


@bp.post("/enterprises/<int:enterprise_id>/flags", endpoint="flag")
@require("applications.write")
def flag(enterprise_id: int):
    """Raise or lower a flag (外迁意向, 经营困难, 被外地招引) on the enterprise."""
    enterprise = _enterprise(enterprise_id)
    if not queries.can_flag(current_user, enterprise):
        abort(403)
    form = FlagForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            services.set_flag(enterprise, form.kind.data, form.active.data, actor=current_user,
                              note=form.note.data)
        if work.ok:
            if is_htmx():
                return _render_card(enterprise)
            flash(_("Saved."), "success")
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="cycle"), code=303)
    return _render_card(enterprise, form, 422)


# --- the monthly bulletin ----------------------------------------------------------------------------

def _bulletin(bulletin_id: int):
    bulletin = queries.get_bulletin_for(current_user, bulletin_id)
    if bulletin is None:
        abort(404)
    return bulletin


@bp.get("/cycle/bulletins", endpoint="bulletins")
@require("bulletins.manage")
def bulletins():
    """The monthly bulletins of the user's scope, newest first (last month's is one click away)."""
    return render_template("cycle/bulletins.html", page=paginate(queries.bulletins_query(current_user)))


@bp.route("/cycle/bulletins/new", methods=["GET", "POST"], endpoint="bulletin_form")
@bp.route("/cycle/bulletins/<int:bulletin_id>/edit", methods=["GET", "POST"], endpoint="bulletin_form")
@require("bulletins.manage")
def bulletin_form(bulletin_id: int | None = None):
    """Write the month's commentary (region and month are fixed once the bulletin exists)."""
    bulletin = _bulletin(bulletin_id) if bulletin_id is not None else None
    form = BulletinForm(obj=bulletin)
    form.region_id.choices = _region_choices()
    if request.method == "GET" and bulletin is None:
        today = clock.today()
        last = today.replace(day=1) - timedelta(days=1)
        form.year.data, form.month.data, form.region_id.data = last.year, last.month, current_user.region_id
    if form.validate_on_submit():
        region = bulletin.region if bulletin else db.session.get(Region, form.region_id.data or 0)
        if region is None:
            form.region_id.errors = [_("Choose a region.")]
        else:
            year, month = (bulletin.year, bulletin.month) if bulletin else (form.year.data, form.month.data)
            with unit_of_work(form) as work:
                saved = services.save_bulletin(region, year, month, form.commentary.data, actor=current_user,
                                               bulletin=bulletin)
            if work.ok:
                flash(_("Saved."), "success")
                return redirect(url_for("cycle.bulletins", _anchor=f"bulletin-{saved.id}"), code=303)
    return render_template("cycle/bulletin_form.html", form=form, bulletin=bulletin), form_status(form)


def _margin() -> Decimal:
    return Decimal(str(current_app.config["PIPELINE_YELLOW_MARGIN"]))


@bp.get("/cycle/bulletins/<int:bulletin_id>.pdf", endpoint="bulletin_pdf")
@require("bulletins.manage")
def bulletin_pdf(bulletin_id: int):
    """The bulletin as a PDF (targets with lights by sub-region, the ranking, the month's movements, commentary)."""
    from urllib.parse import quote

    bulletin = _bulletin(bulletin_id)
    body = documents.bulletin_pdf(documents.bulletin_data(bulletin, _margin()))
    name = quote(documents.bulletin_filename(bulletin) + ".pdf")
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=bulletin.pdf; filename*=UTF-8''{name}"})


@bp.get("/cycle/bulletins/<int:bulletin_id>.xlsx", endpoint="bulletin_xlsx")
@require("bulletins.manage")
def bulletin_xlsx(bulletin_id: int):
    """The bulletin's tables as Excel."""
    from urllib.parse import quote

    bulletin = _bulletin(bulletin_id)
    body = documents.bulletin_xlsx(documents.bulletin_data(bulletin, _margin()))
    name = quote(documents.bulletin_filename(bulletin) + ".xlsx")
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=bulletin.xlsx; filename*=UTF-8''{name}"})
