"""The enterprise portal (/portal), the officers' review of submissions (/submissions) and enterprise accounts.

Every portal route loads the enterprise from the signed-in user (`_own()`), never from the URL; a need or
a submission is looked up among that enterprise's own only, so another enterprise's id answers 404.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth.models import User
from crm.core import clock
from crm.core.policy import Role, require
from crm.core.uow import unit_of_work
from crm.core.validation import form_status
from crm.core.web import paginate
from crm.enterprises.models import IP_KIND_LABELS
from crm.enterprises.queries import get_enterprise_for
from crm.extensions import db
from crm.portal import queries, services
from crm.portal.forms import (
    AccountForm,
    CommentForm,
    FiguresForm,
    IPForm,
    PortalNeedForm,
    RatingForm,
    ReviewForm,
    UploadForm,
)
from crm.portal.models import SUBMISSION_STATUS_LABELS, Submission, SubmissionKind, SubmissionStatus
from crm.service import services as service_services
from crm.service.models import CLOSED_NEED_STATUSES, NEED_STATUS_LABELS

bp = Blueprint("portal", __name__, url_prefix="/portal")
# the officers' review of what enterprises submit
review_bp = Blueprint("submissions", __name__, url_prefix="/submissions")
# an enterprise's portal accounts, managed by its officer or an admin
accounts_bp = Blueprint("portal_accounts", __name__, url_prefix="/enterprises/<int:enterprise_id>/accounts")

FIGURE_LABELS = {name: getattr(FiguresForm, name).args[0] for name in queries.VALUE_FIELDS}


def _own():
    """The signed-in enterprise user's own enterprise (404 if the account is bound to none)."""
    enterprise = queries.own_enterprise(current_user)
    if enterprise is None:
        abort(404)
    return enterprise


# --- home and readiness ---------------------------------------------------------------------------------


@bp.get("")
@require("portal.use")
def home():
    """Our tier and certificates, the ladder, readiness for the next tier, what to do next, our officer."""
    from crm.ladder.queries import ladder_state
    from crm.ladder.tiers import Tier
    from crm.ladder.views import readiness_context

    enterprise = _own()
    readiness = readiness_context(enterprise, portal=True)
    certificates = queries.held_certificates(enterprise)
    submissions = queries.submissions_of(enterprise)
    pending = [s for s in submissions if s.is_pending]
    figures_due = queries.figures_due(enterprise)
    steps = _next_steps(readiness, certificates, figures_due, pending, queries.recently_returned(enterprise))
    return render_template(
        "portal/home.html", e=enterprise, r=readiness, readiness=readiness, certificates=certificates,
        tiers=list(Tier), ladder=ladder_state(enterprise), officer=queries.officer_of(enterprise), steps=steps,
        open_needs=queries.open_needs_total(enterprise))


def _next_steps(readiness: dict, certificates, figures_due, pending, returned) -> list[dict]:
    """What to do next, in plain words: {"text", "url", "items"} in order of urgency."""
    from crm.ladder.tiers import tier_label

    steps = []
    for held in certificates:
        if held.expiring:
            steps.append({"text": _("Your %(tier)s certificate expires on %(date)s: talk to your service officer "
                                    "about re-certification now.", tier=tier_label(held.cert.tier),
                                    date=held.cert.expires_on.isoformat())})
    for sub in returned:
        steps.append({"text": _("Your officer returned your submission of %(what)s: read the comment and submit "
                                "again.", what=_submission_title(sub)),
                      "url": url_for("portal.submission", submission_id=sub.id)})
    if figures_due:
        steps.append({"text": _("Submit your figures for %(year)s, so that your readiness is judged on them.",
                                year=figures_due), "url": url_for("portal.figures_new", year=figures_due)})
    panel = readiness["panel"]
    verdict, tier = panel.result["verdict"], tier_label(readiness["tier"])
    if panel.next_tier is None:
        steps.append({"text": _("You hold the highest tier. Keep your certificates valid and your figures "
                                "up to date.")})
    elif verdict == "ready":
        steps.append({"text": _("You appear to meet every criterion for %(tier)s. Ask your service officer about "
                                "applying.", tier=tier)})
    elif verdict == "incomplete":
        steps.append({"text": _("Some information is missing to judge %(tier)s: see “Missing data” below and "
                                "send it in with your figures, or tell your service officer.", tier=tier),
                      "items": [m["text"] for m in readiness["missing"]][:5]})
    else:
        gaps = [c["gap"]["text"] if c.get("gap") else c["label"] for c in panel.result["criteria"]
                if c["status"] == "fail"]
        steps.append({"text": _("To reach %(tier)s you still lack:", tier=tier), "items": gaps})
    if pending:
        steps.append({"text": _("%(n)s of your submissions wait for your officer's review.", n=len(pending)),
                      "url": url_for("portal.figures")})
    steps.append({"text": _("Need help with funding, talent, patents or a certification? Send a request: your "
                            "officer answers it."), "url": url_for("portal.need_new")})
    return steps


def _submission_title(sub: Submission) -> str:
    """“figures for 2025” or “IP item ZL…”, for lists and messages."""
    if sub.kind == SubmissionKind.FIGURES:
        return _("figures for %(year)s", year=sub.year)
    return _("IP item %(number)s", number=sub.data.get("number", ""))


@bp.get("/readiness")
@require("portal.use")
def readiness():
    """Readiness for one tier (?tier=, default the next one): the page, or the panel alone for htmx."""
    from crm.core.htmx import render_page_or_fragment
    from crm.ladder.tiers import TIER_LABELS
    from crm.ladder.views import readiness_context

    enterprise = _own()
    tier = request.args.get("tier") or None
    if tier is not None and tier not in TIER_LABELS:
        abort(404)
    context = readiness_context(enterprise, tier, portal=True)
    return render_page_or_fragment("portal/readiness.html", "ladder/_readiness.html", r=context, e=enterprise)


@bp.get("/readiness/sheet.pdf")
@require("portal.use")
def readiness_sheet():
    """Our readiness sheet as a PDF (?tier=, default the next tier; ?lang=zh|en), without officers' notes."""
    from crm.ladder import documents
    from crm.ladder.engine import TIERS

    enterprise = _own()
    lang = documents.parse_lang(request.args.get("lang"))
    tier = request.args.get("tier") or documents.default_tier(enterprise)
    if lang is None or tier not in TIERS:
        abort(400)
    pdf = documents.readiness_sheet_pdf(enterprise, tier, user=current_user, lang=lang, enterprise_view=True)
    response = current_app.response_class(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = documents.content_disposition(
        documents.sheet_filename(enterprise.uscc, tier, lang), documents.sheet_filename(enterprise.uscc, tier, "en"))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/policies")
@require("portal.use")
def policies():
    """The policies our enterprise qualifies for (or might: what is missing), with their windows and our status."""
    from crm.ladder.views import engine_lang
    from crm.policies.models import PUSH_STATUS_LABELS, WINDOW_STATE_LABELS
    from crm.policies.queries import policies_of

    enterprise = _own()
    return render_template("portal/policies.html", e=enterprise,
                           rows=policies_of(enterprise, lang=engine_lang(), include_closed=False),
                           today=clock.today(), window_labels=WINDOW_STATE_LABELS, status_labels=PUSH_STATUS_LABELS)


# --- needs ---------------------------------------------------------------------------------------------


@bp.get("/needs")
@require("portal.use")
def needs():
    """Every need of ours with its status."""
    enterprise = _own()
    return render_template("portal/needs.html", e=enterprise, needs=queries.own_needs(enterprise),
                           today=clock.today())


@bp.route("/needs/new", methods=["GET", "POST"])
@require("portal.use")
def need_new():
    """Raise a need: it goes to our service officer."""
    enterprise = _own()
    form = PortalNeedForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            need = service_services.raise_need(enterprise, {
                "category": form.category.data, "title": form.title.data, "description": form.description.data or ""},
                actor=current_user)
        if work.ok:
            flash(_("Your request has been sent to your service officer."), "success")
            return redirect(url_for("portal.need_detail", need_id=need.id), code=303)
    return render_template("portal/need_form.html", form=form, e=enterprise), form_status(form)


def _own_need(need_id: int):
    enterprise = _own()
    need = queries.own_need(enterprise, need_id)
    if need is None:
        abort(404)
    return enterprise, need


def _render_need(enterprise, need, comment_form=None, rating_form=None, status: int = 200):
    rating_form = rating_form or RatingForm(satisfaction=str(need.satisfaction) if need.satisfaction else None)
    return render_template(
        "portal/need.html", e=enterprise, need=need, story=queries.need_story(need, current_user),
        comment_form=comment_form or CommentForm(), rating_form=rating_form, statuses=NEED_STATUS_LABELS,
        can_rate=need.status in CLOSED_NEED_STATUSES, today=clock.today()), status


@bp.get("/needs/<int:need_id>")
@require("portal.use")
def need_detail(need_id: int):
    """One of our needs: status, what happened so far, the comments meant for us; comment, rate."""
    enterprise, need = _own_need(need_id)
    return _render_need(enterprise, need)


@bp.post("/needs/<int:need_id>/comments")
@require("portal.use")
def need_comment(need_id: int):
    """Add a comment to one of our needs (our officer sees it)."""
    enterprise, need = _own_need(need_id)
    form = CommentForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            service_services.add_need_comment(need, form.body.data, actor=current_user)
        if work.ok:
            flash(_("Your comment has been added."), "success")
            return redirect(url_for("portal.need_detail", need_id=need.id, _anchor="story"), code=303)
    return _render_need(enterprise, need, comment_form=form, status=422)


@bp.post("/needs/<int:need_id>/rating")
@require("portal.use")
def need_rating(need_id: int):
    """Rate how a closed need of ours was handled (1–5)."""
    enterprise, need = _own_need(need_id)
    form = RatingForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            service_services.rate_need(need, form.satisfaction.data, actor=current_user)
        if work.ok:
            flash(_("Thank you for your rating."), "success")
            return redirect(url_for("portal.need_detail", need_id=need.id), code=303)
    return _render_need(enterprise, need, rating_form=form, status=422)


# --- figures and IP ---------------------------------------------------------------------------------------


@bp.get("/figures")
@require("portal.use")
def figures():
    """Our figures as they count now, and the state of each submission."""
    return _render_figures(_own())


def _render_figures(enterprise, upload: dict | None = None, status: int = 200):
    """The figures page; `upload` = {"kind", "form", "rejects"} after a refused upload (shown beside its form)."""
    return render_template("portal/figures.html", e=enterprise, submissions=queries.submissions_of(enterprise),
                           figures_due=queries.figures_due(enterprise), labels=FIGURE_LABELS,
                           value_fields=queries.VALUE_FIELDS, amounts=FiguresForm.AMOUNTS,
                           upload_form=(upload or {}).get("form") or UploadForm(), upload=upload or {},
                           max_rows=services.UPLOAD_MAX_ROWS), status


def _template_year(enterprise) -> tuple[int, dict]:
    """The year the figures template is filled in for, and its values (as on the form: pending, else on record)."""
    year = queries.figures_due(enterprise) or queries.latest_complete_year()
    pending = queries.pending_figures(enterprise, year)
    if pending is not None:
        return year, queries.typed_figures(pending.data)
    current = queries.accepted_figures(enterprise, year)
    return year, ({n: getattr(current, n) for n in queries.VALUE_FIELDS} if current else {})


@bp.get("/figures/template.xlsx")
@require("portal.use")
def figures_template():
    """io's annual-figures template for our enterprise: its first row holds our code and name, the year due and
    the figures on record (or pending) for it."""
    from crm.io.documents import template_bytes
    from crm.io.models import IMPORT_KIND_LABELS, ImportKind
    from crm.io.views import xlsx_download

    enterprise = _own()
    year, values = _template_year(enterprise)
    row = {"uscc": enterprise.uscc, "name": enterprise.name, "year": year, **values}
    lines = [_("Amounts are in 10k CNY (万元)."),
             _("One row per year. The first row holds your enterprise's code and the figures of %(year)s as "
               "they stand: correct or complete them, and add a row for another year if needed.", year=year),
             *_upload_lines()]
    body = template_bytes(ImportKind.FIGURES, [], [], rows=[row], lines=lines)
    return xlsx_download(body, f"{IMPORT_KIND_LABELS[ImportKind.FIGURES]}-{enterprise.uscc}.xlsx")


@bp.get("/ip/template.xlsx")
@require("portal.use")
def ip_template():
    """io's IP template for our enterprise: its first row holds our code and name, for the first item."""
    from crm.io.documents import template_bytes
    from crm.io.models import IMPORT_KIND_LABELS, ImportKind
    from crm.io.views import xlsx_download

    enterprise = _own()
    lines = [_("One row per item (patent, software copyright, …). Keep your enterprise's unified social credit "
               "code in every row."), *_upload_lines()]
    body = template_bytes(ImportKind.IP, [], [], rows=[{"uscc": enterprise.uscc, "name": enterprise.name}],
                          lines=lines)
    return xlsx_download(body, f"{IMPORT_KIND_LABELS[ImportKind.IP]}-{enterprise.uscc}.xlsx")


def _upload_lines() -> list[str]:
    return [_("Only rows with your enterprise's unified social credit code are accepted, at most %(n)s rows. "
              "If any row is rejected, nothing is sent: correct the rows listed and upload the file again.",
              n=services.UPLOAD_MAX_ROWS),
            _("What you upload goes to your service officer for review; it counts once accepted."),
            _("Headers are matched by name in any order; a unit such as （万元） after a name is fine."),
            _("Formulas are not imported: paste values only.")]


def _upload(kind: str, submit):
    """Read the uploaded template and submit its rows (all or nothing); the figures page with the reasons if not."""
    from crm.io.documents import FileRefused
    from crm.io.services import MAX_UPLOAD_BYTES

    enterprise = _own()
    form = UploadForm()
    if form.validate_on_submit():
        file = request.files.get("file")
        if file is None or not file.filename:
            form.form_errors.append(_("Choose a file to upload."))
        else:
            data = file.read(current_app.config.get("IMPORT_MAX_BYTES", MAX_UPLOAD_BYTES) + 1)
            rejects = []
            try:
                submitted = submit(enterprise, data, actor=current_user)
            except FileRefused as refused:
                form.form_errors.append(str(refused.message))
            except services.RowsRejected as rejected:
                rejects = rejected.rejects
            else:
                db.session.commit()
                flash(_("Your file has been sent to your service officer for review (submissions: %(n)s).",
                        n=len(submitted)), "success")
                return redirect(url_for("portal.figures", _anchor="submissions"), code=303)
            db.session.rollback()
            return _render_figures(enterprise, {"kind": kind, "form": form, "rejects": rejects}, 422)
    return _render_figures(enterprise, {"kind": kind, "form": form, "rejects": []}, 422)


@bp.post("/figures/upload")
@require("portal.use")
def figures_upload():
    """Submit figures by uploading the filled-in template: a pending submission per year, or nothing."""
    return _upload("figures", services.submit_figures_file)


@bp.post("/ip/upload")
@require("portal.use")
def ip_upload():
    """Report IP items by uploading the filled-in template: a pending submission per item, or nothing."""
    return _upload("ip", services.submit_ip_file)


@bp.route("/figures/new", methods=["GET", "POST"])
@require("portal.use")
def figures_new():
    """Submit a year's figures (filled in with the ones on record); our officer reviews them."""
    enterprise = _own()
    form = FiguresForm()
    if request.method == "GET":
        asked = request.args.get("year", "")
        year = int(asked) if asked.isascii() and asked.isdigit() and len(asked) == 4 else \
            queries.latest_complete_year()
        current = queries.accepted_figures(enterprise, year)
        pending = queries.pending_figures(enterprise, year)
        values = queries.typed_figures(pending.data) if pending else (
            {n: getattr(current, n) for n in queries.VALUE_FIELDS} if current else {})
        form = FiguresForm(data={"year": year, **values})
    elif form.validate_on_submit():
        data = {name: form[name].data for name in ("year", *FiguresForm.AMOUNTS, *FiguresForm.COUNTS)}
        with unit_of_work(form) as work:
            sub = services.submit_figures(enterprise, data, actor=current_user)
        if work.ok:
            flash(_("Your figures for %(year)s have been sent to your service officer for review.", year=sub.year),
                  "success")
            return redirect(url_for("portal.submission", submission_id=sub.id), code=303)
    return render_template("portal/figures_form.html", form=form, e=enterprise), form_status(form)


@bp.route("/ip/new", methods=["GET", "POST"])
@require("portal.use")
def ip_new():
    """Report a patent, software copyright or other IP item; our officer reviews it."""
    enterprise = _own()
    form = IPForm()
    if form.validate_on_submit():
        data = {name: form[name].data for name in services.IP_SUBMITTED_FIELDS}
        with unit_of_work(form) as work:
            sub = services.submit_ip(enterprise, data, actor=current_user)
        if work.ok:
            flash(_("The item has been sent to your service officer for review."), "success")
            return redirect(url_for("portal.submission", submission_id=sub.id), code=303)
    return render_template("portal/ip_form.html", form=form, e=enterprise), form_status(form)


@bp.get("/submissions/<int:submission_id>")
@require("portal.use")
def submission(submission_id: int):
    """One of our submissions: what we sent, against what is on record, and the officer's answer."""
    enterprise = _own()
    sub = queries.own_submission(enterprise, submission_id)
    if sub is None:
        abort(404)
    return render_template("portal/submission.html", e=enterprise, sub=sub, labels=FIGURE_LABELS,
                           rows=queries.figures_diff(sub) if sub.kind == SubmissionKind.FIGURES else [],
                           amounts=FiguresForm.AMOUNTS, ip_kinds=IP_KIND_LABELS)


# --- the officers' review ---------------------------------------------------------------------------------


@review_bp.get("")
@require("submissions.review")
def index():
    """Submissions waiting for the officer (an admin: all), oldest first; ?status=accepted|returned for the rest."""
    status = request.args.get("status", SubmissionStatus.PENDING)
    if status not in (SubmissionStatus.PENDING, SubmissionStatus.ACCEPTED, SubmissionStatus.RETURNED):
        status = SubmissionStatus.PENDING
    page = paginate(queries.review_queue(current_user, status=status))
    return render_template("portal/review_list.html", page=page, status=status, statuses=SUBMISSION_STATUS_LABELS)


def _reviewable(submission_id: int) -> Submission:
    """A submission the user may review: 404 unless its enterprise is in their scope, 403 unless they serve it."""
    sub = db.session.get(Submission, submission_id)
    if sub is None or get_enterprise_for(current_user, sub.enterprise_id) is None:
        abort(404)
    if not queries.can_review(current_user, sub):
        abort(403)
    return sub


def _render_review(sub: Submission, form: ReviewForm | None = None, status: int = 200):
    form = form or ReviewForm(version=str(sub.version))
    form.version.data = str(sub.version)
    return render_template("portal/review.html", sub=sub, form=form, labels=FIGURE_LABELS,
                           rows=queries.figures_diff(sub) if sub.kind == SubmissionKind.FIGURES else [],
                           conflict=queries.changed_since(sub), amounts=FiguresForm.AMOUNTS,
                           ip_kinds=IP_KIND_LABELS), status


@review_bp.get("/<int:submission_id>")
@require("submissions.review")
def review(submission_id: int):
    """A submission beside the figures on record, changes highlighted, conflicts named; accept or return."""
    return _render_review(_reviewable(submission_id))


@review_bp.post("/<int:submission_id>/accept")
@require("submissions.review")
def accept(submission_id: int):
    """Apply the submission in one transaction (figures saved and verified, or the IP item added)."""
    sub = _reviewable(submission_id)
    form = ReviewForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            services.accept_submission(sub, actor=current_user, version=form.version.data,
                                       comment=form.comment.data or "", overwrite=bool(form.overwrite.data))
        if work.ok:
            flash(_("Accepted: the submission of %(name)s now counts.", name=sub.enterprise.name), "success")
            return redirect(url_for("submissions.index"), code=303)
    db.session.refresh(sub)
    return _render_review(sub, form, 409 if "overwrite" in form.errors else 422)


@review_bp.post("/<int:submission_id>/return")
@require("submissions.review")
def return_(submission_id: int):
    """Send the submission back with a comment; nothing is applied."""
    sub = _reviewable(submission_id)
    form = ReviewForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            services.return_submission(sub, form.comment.data or "", actor=current_user, version=form.version.data)
        if work.ok:
            flash(_("Returned to %(name)s with your comment.", name=sub.enterprise.name), "success")
            return redirect(url_for("submissions.index"), code=303)
    db.session.refresh(sub)
    return _render_review(sub, form, 422)


# --- enterprise accounts ---------------------------------------------------------------------------------

_LINK_KEY = "portal_password_link"


def _manageable(enterprise_id: int):
    """An enterprise whose accounts the user manages: 404 outside their scope, 403 unless they serve it."""
    enterprise = get_enterprise_for(current_user, enterprise_id)
    if enterprise is None:
        abort(404)
    if not services.can_manage_accounts(current_user, enterprise):
        abort(403)
    return enterprise


def _show_link(user: User, token: str) -> None:
    """Keep a fresh link for the next page, once (it is never stored in plain text)."""
    url = url_for("auth.set_password", token=token, _external=True)
    sent = services.send_password_link(user, url)
    session[_LINK_KEY] = {"user_id": user.id, "url": url, "sent": sent}


@accounts_bp.route("", methods=["GET", "POST"])
@require("portal_accounts.manage")
def accounts(enterprise_id: int):
    """The enterprise's portal accounts; add a contact (a one-time set-password link is shown to hand over)."""
    from sqlalchemy import select

    enterprise = _manageable(enterprise_id)
    form = AccountForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            user, token = services.create_enterprise_account(enterprise, {
                name: form[name].data or "" for name in ("username", "name", "phone", "email")}, actor=current_user)
        if work.ok:
            _show_link(user, token)
            flash(_("Account %(name)s has been created.", name=user.username), "success")
            return redirect(url_for("portal_accounts.accounts", enterprise_id=enterprise.id), code=303)
    users = list(db.session.scalars(select(User).where(User.enterprise_id == enterprise.id,
                                                       User.role == Role.ENTERPRISE).order_by(User.name, User.id)))
    fresh = session.pop(_LINK_KEY, None)
    response = current_app.make_response((render_template(
        "portal/accounts.html", e=enterprise, form=form, users=users, fresh=fresh,
        link_days=current_app.config["PASSWORD_LINK_DAYS"]), form_status(form)))
    response.headers["Cache-Control"] = "no-store"
    return response


@accounts_bp.post("/<int:user_id>/link")
@require("portal_accounts.manage")
def new_link(enterprise_id: int, user_id: int):
    """A new one-time set-password link for a contact (first sign-in or a forgotten password)."""
    from types import SimpleNamespace

    enterprise = _manageable(enterprise_id)
    user = db.session.get(User, user_id)
    if user is None or user.enterprise_id != enterprise.id:
        abort(404)
    refusals = SimpleNamespace(_fields={}, form_errors=[])
    with unit_of_work(refusals) as work:
        token = services.reissue_password_link(user, actor=current_user)
    if work.ok:
        _show_link(user, token)
    else:
        flash(" ".join(refusals.form_errors), "danger")
    return redirect(url_for("portal_accounts.accounts", enterprise_id=enterprise.id), code=303)


bp.add_app_template_global(_submission_title, "submission_title")
