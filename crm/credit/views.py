"""Credit screening pages: the imported lists, a list's entries, importing a list, lifting an entry."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core import clock
from crm.core.audit import register_field_labels
from crm.core.policy import require
from crm.core.validation import ValidationFailed, attach_errors
from crm.core.web import paginate
from crm.credit import documents, queries, services
from crm.credit.forms import CreditListForm, LiftForm
from crm.credit.models import CREDIT_LIST_KIND_LABELS, CreditList
from crm.extensions import db

bp = Blueprint("credit", __name__)

register_field_labels("credit_lists", CreditListForm)
register_field_labels("credit_list_entries", LiftForm)


@bp.get("/credit")
@require("credit.read")
def index():
    """The negative lists imported, the newest first, with their counts."""
    return render_template("credit/index.html", page=paginate(queries.lists_query()))


@bp.get("/credit/<int:list_id>")
@require("credit.read")
def detail(list_id: int):
    """A list and its entries (matched ones of the reader's region; unmatched; lifted), paginated and filtered."""
    credit_list = db.get_or_404(CreditList, list_id)
    f = queries.parse_entry_filter(request.args)
    page = paginate(queries.entries_query(current_user, credit_list, f))
    return render_template("credit/detail.html", credit_list=credit_list, page=page, f=f,
                           lift_form=LiftForm(formdata=None))


def _render_import(form, report=None, status: int = 200):
    return render_template("credit/import.html", form=form, report=report, kinds=CREDIT_LIST_KIND_LABELS), status


@bp.route("/credit/import", methods=["GET", "POST"])
@require("credit.manage")
def import_list():
    """Import a negative list (.xlsx): all or nothing; the matched enterprises' clean record is set, their
    officers told."""
    from crm.io.documents import FileRefused

    form = CreditListForm(data={"received_on": clock.today()} if request.method == "GET" else None)
    if request.method == "GET":
        return _render_import(form)
    upload = request.files.get("file")
    if not form.validate_on_submit() or upload is None or not upload.filename:
        if upload is None or not upload.filename:
            form.file.errors = [_("Choose a file.")]
        return _render_import(form, status=422)
    meta = {name: form[name].data for name in ("kind", "source", "received_on", "note", "replaces_previous")}
    meta["filename"] = upload.filename
    try:
        report = services.import_list(upload.read(), meta, actor=current_user)
    except FileRefused as refused:
        db.session.rollback()
        form.file.errors = [str(refused.message)]
        return _render_import(form, status=422)
    except ValidationFailed as failure:
        db.session.rollback()
        attach_errors(form, failure)
        return _render_import(form, status=422)
    if report.rejected:
        db.session.rollback()
        return _render_import(form, report, 422)
    db.session.commit()
    flash(_("The list is imported: %(rows)d rows, %(matched)d enterprises of the registry on it, %(unmatched)d "
            "not in the registry, %(lifted)d earlier entries lifted; %(told)d officers told.",
            rows=report.rows, matched=report.matched, unmatched=report.unmatched, lifted=report.lifted,
            told=report.notified), "success")
    return redirect(url_for("credit.detail", list_id=report.credit_list.id), code=303)


@bp.get("/credit/template.xlsx")
@require("credit.manage")
def template():
    """An empty list with one example row: the columns the import reads."""
    from urllib.parse import quote

    from flask import Response

    from crm.io.documents import XLSX_MIME

    name = quote(_("negative-list.xlsx"))
    return Response(documents.template_bytes(), mimetype=XLSX_MIME,
                    headers={"Content-Disposition": f"attachment; filename=negative-list.xlsx; filename*=UTF-8''{name}"})


@bp.post("/credit/entries/<int:entry_id>/lift")
@require("credit.manage")
def lift(entry_id: int):
    """Lift an entry: the enterprise is off that list; its clean record comes back when no other entry remains."""
    entry = queries.get_entry(entry_id)
    if entry is None:
        abort(404)
    back = redirect(url_for("credit.detail", list_id=entry.list_id, _anchor="entries"), code=303)
    form = LiftForm()
    if not form.validate_on_submit():
        for messages in form.errors.values():
            for message in messages:
                flash(str(message), "danger")
        return back
    try:
        lifted = services.lift_entry(entry, actor=current_user, on=form.removed_on.data, note=form.removed_note.data)
    except ValidationFailed as failure:
        db.session.rollback()
        for messages in failure.errors.values():
            for message in messages:
                flash(str(message), "danger")
        return back
    db.session.commit()
    if lifted:
        flash(_("%(name)s is off the list.", name=entry.name or entry.uscc), "success")
    else:
        flash(_("This entry was lifted already."), "info")
    return back
