"""Pages of imports and exports: templates, upload → preview → confirm, progress, history, Excel exports."""
from __future__ import annotations

from datetime import date
from io import BytesIO
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.core.clock import today
from crm.core.htmx import render_page_or_fragment
from crm.core.i18n import current_language, select_locale
from crm.core.policy import can, require
from crm.core.web import paginate
from crm.extensions import db
from crm.io import jobs, queries, services
from crm.io.documents import XLSX_MIME, FileRefused, as_date, read_table, template_bytes, write_workbook
from crm.io.forms import UploadForm
from crm.io.models import IMPORT_KIND_LABELS, ImportKind, ImportStatus

bp = Blueprint("io", __name__)

EXPORT_LABELS = {"enterprises": IMPORT_KIND_LABELS[ImportKind.ENTERPRISES],
                 "figures": IMPORT_KIND_LABELS[ImportKind.FIGURES], "ip": IMPORT_KIND_LABELS[ImportKind.IP],
                 "certifications": IMPORT_KIND_LABELS[ImportKind.CERTIFICATIONS]}


def xlsx_download(body: bytes, filename: str) -> Response:
    """An .xlsx as a download named `filename` (any language: RFC 5987), with a plain fallback name."""
    disposition = f"attachment; filename=export.xlsx; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(body, mimetype=XLSX_MIME, headers={"Content-Disposition": disposition})


def _job(job_id: int):
    job = queries.job_for(current_user, job_id)
    if job is None:
        abort(404)
    return job


# --- imports -----------------------------------------------------------------------------------------------

@bp.get("/imports", endpoint="imports")
@require("io.import")
def imports():
    """The upload form, the templates and the import history (an admin's: everyone's; others' their own)."""
    return render_template("io/index.html", form=UploadForm(), page=paginate(queries.jobs_for(current_user)),
                           kinds=IMPORT_KIND_LABELS, max_mb=current_app.config.get(
                               "IMPORT_MAX_BYTES", services.MAX_UPLOAD_BYTES) // (1024 * 1024))


@bp.post("/imports", endpoint="upload")
@require("io.import")
def upload():
    """Save the upload, check it in the background (nothing is written), show the preview when ready."""
    form = UploadForm()
    file = request.files.get("file")
    status = 200
    if form.validate_on_submit():
        if file is None or not file.filename:
            form.form_errors.append(_("Choose a file to upload."))
        else:
            data = file.read(current_app.config.get("IMPORT_MAX_BYTES", services.MAX_UPLOAD_BYTES) + 1)
            try:
                job = services.new_job(form.kind.data, file.filename, data, actor=current_user,
                                       all_or_nothing=form.all_or_nothing.data,
                                       figure_source=form.figure_source.data)
            except FileRefused as refused:
                db.session.rollback()
                form.form_errors.append(str(refused.message))
            else:
                db.session.commit()
                jobs.start(current_app._get_current_object(), job.id, "preview", select_locale())
                return redirect(url_for("io.job", job_id=job.id), code=303)
    if form.errors or form.form_errors:
        status = 422
    return render_template("io/index.html", form=form, page=paginate(queries.jobs_for(current_user)),
                           kinds=IMPORT_KIND_LABELS, max_mb=current_app.config.get(
                               "IMPORT_MAX_BYTES", services.MAX_UPLOAD_BYTES) // (1024 * 1024)), status


@bp.get("/imports/templates/<kind>.xlsx", endpoint="template")
@require("io.import")
def template(kind: str):
    """The import template of a kind: headers in the user's language, an example row, drop-downs, notes."""
    if kind not in IMPORT_KIND_LABELS:
        abort(404)
    regions, parks = queries.template_regions(current_user)
    name = _("Import template") + f"-{IMPORT_KIND_LABELS[ImportKind(kind)]}.xlsx"
    return xlsx_download(template_bytes(kind, regions, parks), name)


@bp.get("/imports/<int:job_id>", endpoint="job")
@require("io.import")
def job(job_id: int):
    """A job: its progress while it runs (htmx polls the fragment), then the preview or the result."""
    item = _job(job_id)
    return render_page_or_fragment("io/job.html", "io/_job.html", job=item, view=jobs.job_view(item))


@bp.post("/imports/<int:job_id>/confirm", endpoint="confirm")
@require("io.import")
def confirm(job_id: int):
    """Import the previewed file: the accepted rows in one transaction (or nothing, all or nothing)."""
    item = _job(job_id)
    if item.status != ImportStatus.PREVIEWED or not jobs.claim_for_import(item.id):
        flash(_("This import is not waiting for confirmation."), "warning")
        return redirect(url_for("io.job", job_id=item.id), code=303)
    jobs.start(current_app._get_current_object(), item.id, "import", select_locale())
    return redirect(url_for("io.job", job_id=item.id), code=303)


@bp.post("/imports/<int:job_id>/cancel", endpoint="cancel")
@require("io.import")
def cancel(job_id: int):
    """Discard a previewed file: nothing is imported and the file is deleted."""
    item = _job(job_id)
    if services.cancel_job(item, actor=current_user):
        db.session.commit()
        flash(_("The import has been cancelled; nothing was written."), "success")
    return redirect(url_for("io.imports"), code=303)


@bp.get("/imports/<int:job_id>/rejects.xlsx", endpoint="rejects")
@require("io.import")
def rejects(job_id: int):
    """The rejected rows: the file's own cells with the row number and the reasons, to fix and upload again."""
    item = _job(job_id)
    reasons: dict[int, list[str]] = {}
    for r in item.rejects or []:
        reasons.setdefault(int(r["row"]), []).append(f"{r['column']}：{r['reason']}")
    headers, rows = [_("Row"), _("Reasons")], [[n, "；".join(texts)] for n, texts in sorted(reasons.items())]
    path = services.job_path(item)
    if path.is_file():
        try:
            table = read_table(path, item.kind, item.file_format)
        except FileRefused:
            table = None
        if table is not None:
            try:
                rows = [[*values, n, "；".join(reasons[n])] for n, values in table.rows if n in reasons]
                width = max([len(table.headers), *(len(r) - 2 for r in rows)])
                rows = [list(r[:-2]) + [None] * (width - len(r) + 2) + r[-2:] for r in rows]
                headers = list(table.headers) + [""] * (width - len(table.headers)) + headers
            finally:
                table.close()
    buffer = BytesIO()
    write_workbook(buffer, _("Rejected rows"), headers, ([as_date(v) for v in row] for row in rows))
    return xlsx_download(buffer.getvalue(), _("Rejected rows") + f"-{item.id}.xlsx")


# --- exports -----------------------------------------------------------------------------------------------

def _visit_filter():
    args = request.args
    region, officer, ent = args.get("region", ""), args.get("officer", ""), args.get("enterprise", "")

    def day(name):
        try:
            return date.fromisoformat(args.get(name, ""))
        except ValueError:
            return None

    return queries.VisitFilter(q=args.get("q", "").strip()[:60],
                               region_id=int(region) if region.isdigit() and len(region) <= 9 else None,
                               officer_id=int(officer) if officer.isdigit() and len(officer) <= 9 else None,
                               date_from=day("from"), date_to=day("to"),
                               enterprise_id=int(ent) if ent.isdigit() and len(ent) <= 9 else None)


@bp.get("/exports/<kind>.xlsx", endpoint="export")
@require("registry.read")
def export(kind: str):
    """Any list the user can see, with the page's filters, every row (not a page): an Excel download."""
    from crm.enterprises.views import read_filter

    if kind not in queries.EXPORT_KINDS:
        abort(404)
    if kind in ("needs", "visits") and not can(current_user, "service.read"):
        abort(403)
    if kind == "needs":
        from crm.service.views import read_need_filter

        filters = read_need_filter()
    elif kind == "visits":
        filters = _visit_filter()
    elif kind == "candidates":
        from crm.ladder.views import _pool_filters

        filters = (*_pool_filters(), "en" if current_language() == "en" else "zh")
    else:
        filters = read_filter()
    title, headers, rows = queries.export_table(kind, current_user, filters)
    buffer = BytesIO()
    write_workbook(buffer, title, headers, ([as_date(v) for v in row] for row in rows))
    return xlsx_download(buffer.getvalue(), f"{title}-{today().isoformat()}.xlsx")
