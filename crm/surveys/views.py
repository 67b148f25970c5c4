"""Survey campaign pages: the question bank, campaigns with progress, filling (bureau and portal), results."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from crm.core import clock
from crm.core.audit import register_field_labels
from crm.core.forms import choices, options
from crm.core.policy import Role, require
from crm.core.uow import unit_of_work
from crm.core.validation import ValidationFailed, form_status
from crm.core.web import paginate
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import get_enterprise_for, region_choices
from crm.extensions import db
from crm.ladder.tiers import CANDIDATE, CANDIDATE_LABEL, TIER_LABELS
from crm.surveys import documents, queries, services
from crm.surveys.forms import OPTION_ROWS, CampaignForm, QuestionForm, ResponseForm
from crm.surveys.models import SurveyCampaign

bp = Blueprint("surveys", __name__, url_prefix="/surveys")
portal_bp = Blueprint("portal_surveys", __name__, url_prefix="/portal/surveys")

register_field_labels("survey_campaigns", CampaignForm, questions=_l("Questions"), status=_l("Status"),
                      targets=_l("Enterprises asked"))
register_field_labels("survey_questions", QuestionForm, options=_l("Options"), version=_l("Version"))


@bp.app_template_global()
def survey_campaigns_for(enterprise: Enterprise):
    """Open campaigns asking this enterprise, with its response (for the enterprise, visit and portal pages)."""
    return queries.open_campaigns_for(enterprise)


def _region_scope():
    return None if current_user.role == Role.ADMIN else current_user.region_id


# --- the question bank -------------------------------------------------------------------------------

@bp.get("/questions")
@require("surveys.manage")
def questions():
    """The question bank the user may use, with each question's current version."""
    page = paginate(queries.questions_query(current_user))
    return render_template("surveys/questions.html", page=page)


def _loaded_question(question_id: int):
    question = queries.get_question_for(current_user, question_id)
    if question is None:
        abort(404)
    if not queries.can_manage_question(current_user, question):
        abort(403)
    return question


@bp.route("/questions/new", methods=["GET", "POST"], endpoint="question_new")
@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"], endpoint="question_edit")
@require("surveys.manage")
def question_form(question_id: int | None = None):
    """Write a question or change it (a new version once a launched campaign asks it)."""
    question = _loaded_question(question_id) if question_id is not None else None
    form = QuestionForm()
    if question is not None and request.method == "GET":
        current = question.current
        form.kind.data, form.text.data, form.unit.data = current.kind, current.text, current.unit
        form.region_id.data = question.region_id
        for row, option in zip(form.options, current.options, strict=False):
            row.label.data, row.need_category.data = option.label, option.need_category
            row.need_title.data, row.flag_kind.data = option.need_title, option.flag_kind
    allowed = region_choices(within=_region_scope())
    region_options = ([("", _("Everyone (all regions)"))] if current_user.role == Role.ADMIN else []) + allowed
    form.region_id.choices = choices(region_options)
    if form.validate_on_submit():
        if form.region_id.data is not None and form.region_id.data not in dict(allowed):
            abort(403)
        data = {"kind": form.kind.data, "text": form.text.data, "unit": form.unit.data,
                "region_id": form.region_id.data}
        rows = [dict(r.data) for r in form.options]
        with unit_of_work(form) as work:
            question = services.save_question(data, rows, actor=current_user, question=question)
        if work.ok:
            flash(_("Question saved (version %(n)d).", n=question.current_version), "success")
            return redirect(url_for("surveys.questions"), code=303)
    in_use = question is not None and queries.version_in_launched_use(question.current)
    return render_template("surveys/question_form.html", form=form, question=question, in_use=in_use,
                           rows=OPTION_ROWS), form_status(form)


# --- campaigns ---------------------------------------------------------------------------------------

@bp.get("")
@require("surveys.read")
def index():
    """Campaigns reaching the user, with progress (answered / asked) within their scope."""
    page = paginate(queries.campaigns_query(current_user))
    return render_template("surveys/index.html", page=page, today=clock.today(),
                           progress=queries.progress(current_user, [c.id for c in page.items]))


def _loaded(campaign_id: int, manage: bool = False) -> SurveyCampaign:
    campaign = queries.get_campaign_for(current_user, campaign_id)
    if campaign is None:
        abort(404)
    if manage and not queries.can_manage_campaign(current_user, campaign):
        abort(403)
    return campaign


def _tier_choices():
    return choices([("", _("Any tier")), (CANDIDATE, CANDIDATE_LABEL)]) + options(TIER_LABELS)


@bp.route("/new", methods=["GET", "POST"], endpoint="campaign_new")
@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"], endpoint="campaign_edit")
@require("surveys.manage")
def campaign_form(campaign_id: int | None = None):
    """Draft a campaign: its questions from the bank in order, its period and its enterprises."""
    from crm.tags.queries import visible_tags

    campaign = _loaded(campaign_id, manage=True) if campaign_id is not None else None
    if campaign is not None and campaign.is_launched:
        flash(_("A launched campaign cannot be changed."), "warning")
        return redirect(url_for("surveys.campaign", campaign_id=campaign.id), code=303)
    form = CampaignForm(obj=campaign)
    allowed = region_choices(within=_region_scope())
    form.region_id.choices = choices(allowed)
    form.target_region_id.choices = choices([("", _("The campaign's region"))] + allowed)
    form.target_tier.choices = _tier_choices()
    form.target_tag_id.choices = choices([("", _("Any tag"))] + [(t.id, t.name) for t in visible_tags(current_user)])
    bank = [q for q in db.session.scalars(queries.questions_query(current_user)) if q.active]
    positions = {cq.question_id: cq.position + 1 for cq in campaign.questions} if campaign else {}
    if request.method == "POST":
        positions = {}
        for q in bank:
            raw = (request.form.get(f"pos_{q.id}") or "").strip()
            if raw.isdigit() and len(raw) < 4 and int(raw) > 0:
                positions[q.id] = int(raw)
    if form.validate_on_submit():
        if form.region_id.data not in dict(allowed):
            abort(403)
        ordered = [qid for qid, _p in sorted(positions.items(), key=lambda kv: (kv[1], kv[0]))]
        data = {name: form[name].data for name in CampaignForm.FIELDS}
        with unit_of_work(form) as work:
            campaign = services.save_campaign(data, ordered, actor=current_user, campaign=campaign,
                                              usable={q.id: q for q in bank})
        if work.ok:
            flash(_("%(title)s saved.", title=campaign.title), "success")
            return redirect(url_for("surveys.campaign", campaign_id=campaign.id), code=303)
    return render_template("surveys/campaign_form.html", form=form, campaign=campaign, bank=bank,
                           positions=positions), form_status(form)


@bp.get("/<int:campaign_id>")
@require("surveys.read")
def campaign(campaign_id: int):
    """A campaign: its questions, progress per officer, and its enterprises with their response (or not yet)."""
    campaign = _loaded(campaign_id)
    state = request.args.get("state", "")
    page = paginate(queries.targets_query(current_user, campaign, state)) if campaign.is_launched else None
    preview = None if campaign.is_launched else len(queries.matching_enterprise_ids(campaign))
    responses = queries.responses_by_enterprise(campaign, [e.id for e in page.items]) if page else {}
    return render_template("surveys/campaign.html", campaign=campaign, page=page, state=state, preview=preview,
                           responses=responses,
                           progress=queries.progress(current_user, [campaign.id])[campaign.id],
                           can_manage=queries.can_manage_campaign(current_user, campaign),
                           is_open=campaign.is_open(clock.today()), form=ResponseForm(formdata=None))


@bp.post("/<int:campaign_id>/launch")
@require("surveys.manage")
def launch(campaign_id: int):
    """Launch a draft campaign: its questions are frozen and its enterprises fixed."""
    campaign = _loaded(campaign_id, manage=True)
    try:
        count = services.launch_campaign(campaign, actor=current_user)
    except ValidationFailed as failed:
        db.session.rollback()
        flash(" ".join(str(m) for ms in failed.errors.values() for m in ms), "danger")
        return redirect(url_for("surveys.campaign", campaign_id=campaign_id), code=303)
    db.session.commit()
    flash(_("Campaign launched for %(n)d enterprises.", n=count), "success")
    return redirect(url_for("surveys.campaign", campaign_id=campaign.id), code=303)


# --- results -----------------------------------------------------------------------------------------

def _by() -> str:
    return "industry" if request.args.get("by") == "industry" else "region"


@bp.get("/<int:campaign_id>/results")
@require("surveys.results")
def results(campaign_id: int):
    """Per question: totals and shares (or sum, mean, median), by region or industry, against last year."""
    campaign = _loaded(campaign_id)
    by = _by()
    return render_template("surveys/results.html", campaign=campaign, by=by,
                           results=queries.results(current_user, campaign, by),
                           progress=queries.progress(current_user, [campaign.id])[campaign.id])


@bp.get("/<int:campaign_id>/results.xlsx")
@require("surveys.results")
def results_export(campaign_id: int):
    """The results as an Excel workbook (totals with last year's, by region, by industry)."""
    campaign = _loaded(campaign_id)
    return documents.results_xlsx(campaign, queries.results(current_user, campaign, "region"),
                                  queries.results(current_user, campaign, "industry"))


@bp.get("/<int:campaign_id>/questions/<int:question_id>/needs")
@require("surveys.results")
def question_needs(campaign_id: int, question_id: int):
    """The needs a question's answers raised: their status, closed in time, departments in time, satisfaction."""
    campaign = _loaded(campaign_id)
    cq = next((q for q in campaign.questions if q.question_id == question_id), None)
    if cq is None:
        abort(404)
    option_id = request.args.get("option", type=int)
    found = queries.raised_needs(current_user, campaign, question_id, option_id)
    result = next(r for r in queries.results(current_user, campaign) if r.campaign_question.question_id == question_id)
    return render_template("surveys/needs.html", campaign=campaign, cq=cq, found=found, option_id=option_id,
                           result=result, today=clock.today())


# --- filling -----------------------------------------------------------------------------------------

def _answers_of(response) -> dict:
    """The saved answers as the form shows them: {"q<id>": [option ids] | number | text}."""
    out = {}
    for a in (response.answers if response else []):
        out[f"q{a.question_id}"] = a.option_ids or (a.number_value if a.number_value is not None else a.text_value)
    return out


def _posted(campaign: SurveyCampaign) -> dict:
    raw = {}
    for cq in campaign.questions:
        key = f"q{cq.question_id}"
        raw[key] = request.form.getlist(key) if cq.question_version.is_choice else request.form.get(key, "")
    return raw


def _fill(campaign: SurveyCampaign, enterprise: Enterprise, *, visit, done_url: str, portal: bool):
    response = queries.response_of(campaign, enterprise)
    form = ResponseForm()
    values = _answers_of(response)
    errors: dict = {}
    status = 200
    if request.method == "POST":
        values = _posted(campaign)
        if not form.validate_on_submit():
            abort(400)  # the CSRF token: a stale page, not an answer to correct
        try:
            services.save_response(campaign, enterprise, values, actor=current_user, visit=visit)
            db.session.commit()
        except ValidationFailed as failed:
            db.session.rollback()
            errors = {k: [str(m) for m in ms] for k, ms in failed.errors.items()}
        except IntegrityError:  # two saves of a first response raced: the unique constraint kept one
            db.session.rollback()
            errors = {"": [_("This questionnaire was saved a moment ago by someone else: reload it.")]}
        else:
            flash(_("Questionnaire saved.") if response is None else _("Questionnaire updated."), "success")
            return redirect(done_url, code=303)
        status = 422
    return render_template("surveys/fill.html", campaign=campaign, enterprise=enterprise, response=response,
                           form=form, values=values, visit=visit, portal=portal, errors=errors), status


@bp.route("/<int:campaign_id>/enterprises/<int:enterprise_id>/fill", methods=["GET", "POST"])
@require("surveys.fill")
def fill(campaign_id: int, enterprise_id: int):
    """Fill (or change) an enterprise's questionnaire, on a phone, optionally during a visit (?visit=)."""
    campaign = _loaded(campaign_id)
    enterprise = get_enterprise_for(current_user, enterprise_id)
    if enterprise is None or not queries.is_target(campaign, enterprise):
        abort(404)
    if not queries.can_fill(current_user, campaign, enterprise):
        abort(403)
    visit = queries.visit_for(current_user, request.values.get("visit"), enterprise)
    done = url_for("service.visit_detail", visit_id=visit.id) if visit else \
        url_for("enterprises.detail", enterprise_id=enterprise.id)
    return _fill(campaign, enterprise, visit=visit, done_url=done, portal=False)


@portal_bp.route("/<int:campaign_id>", methods=["GET", "POST"], endpoint="fill")
@require("portal.use")
def portal_fill(campaign_id: int):
    """The enterprise's contact fills their own questionnaire while the campaign is open."""
    enterprise = db.session.get(Enterprise, current_user.enterprise_id) if current_user.enterprise_id else None
    campaign = db.session.get(SurveyCampaign, campaign_id)
    if enterprise is None or campaign is None or not queries.is_target(campaign, enterprise):
        abort(404)
    if not queries.can_fill(current_user, campaign, enterprise):
        abort(403)
    return _fill(campaign, enterprise, visit=None, done_url=url_for("portal.home"), portal=True)
