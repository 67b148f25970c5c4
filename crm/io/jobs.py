"""Running an import job outside the request: the preview (nothing kept) and the import (one transaction).

    job = services.new_job(kind, name, data, actor=user); db.session.commit()
    start(app, job.id, "preview", locale)   # a thread of the web process (synchronous when testing)
    … the user reads the preview …
    if claim_for_import(job.id): start(app, job.id, "import", locale)

Like the readiness-sheet batches (crm.ladder.documents), a job runs in a thread of the web process with
its own app context and session. Its progress goes to a small file beside the upload
(instance/imports/<id>.progress), not to the database: the import is one transaction that commits the
rows and the job's result together, or nothing, so it cannot commit progress on the way; the file can
be read by any worker process. A job whose progress file has not moved for STALE_AFTER is shown as
stopped (the process died; its transaction, never committed, wrote nothing).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask_babel import force_locale
from flask_babel import gettext as _

from crm.core.db import utcnow
from crm.extensions import db
from crm.io import services
from crm.io.documents import FileRefused, read_table
from crm.io.models import IMPORT_STATUS_LABELS, ImportJob, ImportStatus

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)
_SLOTS = threading.BoundedSemaphore(2)  # jobs running at once in this process
_THREADS: dict[int, threading.Thread] = {}


def progress_path(job_id: int) -> Path:
    """The progress file of a job."""
    return services.import_dir() / f"{int(job_id)}.progress"


def _write_progress(job_id: int, phase: str, done: int, total: int | None) -> None:
    path = progress_path(job_id)
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_text(json.dumps({"phase": phase, "done": done, "total": total}), encoding="utf-8")
        tmp.replace(path)
    except OSError:  # progress is a courtesy: never stop an import for it
        log.warning("import job %s: could not write progress", job_id)


def read_progress(job_id: int) -> dict:
    """{"phase", "done", "total", "age_seconds"} of a running job (zeros when it has not started)."""
    path = progress_path(job_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["age_seconds"] = time.time() - path.stat().st_mtime
        return data
    except (OSError, ValueError):
        return {"phase": "", "done": 0, "total": None, "age_seconds": None}


def run(job_id: int, mode: str) -> None:
    """Preview (mode "preview": rolled back) or import (mode "import": committed, or nothing) a job's file.

    Runs in the current app context; commits the job's outcome itself (this is a unit of work's edge).
    """
    from crm.auth.models import User

    job = db.session.get(ImportJob, job_id)
    expected = ImportStatus.PREVIEWING if mode == "preview" else ImportStatus.IMPORTING
    if job is None or job.status != expected:
        return
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else job.actor_label or "system"
    kind, all_or_nothing, path = job.kind, job.all_or_nothing, services.job_path(job)
    began = time.perf_counter()
    _write_progress(job_id, mode, 0, None)
    table = None
    try:
        table = read_table(path, kind, job.file_format)
        report = services.import_table(kind, table, actor=actor,
                                       progress=lambda done, total: _write_progress(job_id, mode, done, total),
                                       figure_source=job.figure_source, file_name=job.filename, job_id=job_id)
    except FileRefused as refused:
        db.session.rollback()
        _finish_failed(job_id, str(refused.message))
        return
    except Exception as exc:  # the job stops; nothing it did is kept
        log.exception("import job %s failed", job_id)
        db.session.rollback()
        _finish_failed(job_id, f"{type(exc).__name__}: {exc}"[:500])
        return
    finally:
        if table is not None:
            table.close()
    elapsed = round((time.perf_counter() - began) * 1000)
    if mode == "preview" or (all_or_nothing and report.rejected):
        db.session.rollback()  # the preview, or all or nothing with a rejected row: nothing is kept
        job = db.session.get(ImportJob, job_id)
        status = ImportStatus.PREVIEWED if mode == "preview" else ImportStatus.REFUSED
        services.record_report(job, report, status, elapsed_ms=elapsed)
    else:
        job = db.session.get(ImportJob, job_id)
        services.record_report(job, report, ImportStatus.DONE, elapsed_ms=elapsed)
        services.audit_import(job, actor=actor)
    db.session.commit()
    progress_path(job_id).unlink(missing_ok=True)


def _finish_failed(job_id: int, message: str) -> None:
    job = db.session.get(ImportJob, job_id)
    if job is None:
        return
    job.status, job.error, job.updated_at, job.finished_at = ImportStatus.FAILED, message, utcnow(), utcnow()
    db.session.commit()
    progress_path(job_id).unlink(missing_ok=True)


def claim_for_import(job_id: int) -> bool:
    """Move a previewed job to "importing" (committed); False when it is not waiting (a second click, a race)."""
    table = ImportJob.__table__
    result = db.session.execute(table.update().where(table.c.id == job_id, table.c.status == ImportStatus.PREVIEWED)
                                .values(status=ImportStatus.IMPORTING, updated_at=utcnow()))
    db.session.commit()
    return result.rowcount == 1


def _run_in_thread(app, job_id: int, mode: str, locale: str) -> None:
    try:
        with _SLOTS, app.app_context():
            try:
                with force_locale(locale):
                    run(job_id, mode)
            finally:
                db.session.remove()
    finally:
        _THREADS.pop(job_id, None)


def start(app, job_id: int, mode: str, locale: str = "zh_Hans_CN") -> threading.Thread | None:
    """Run the job in a thread of this process (IMPORT_BACKGROUND, default: not when testing); else at once,
    in a fresh app context (its own session) all the same."""
    if not app.config.get("IMPORT_BACKGROUND", not app.testing):
        with app.app_context(), force_locale(locale):
            try:
                run(job_id, mode)
            finally:
                db.session.remove()
        return None
    thread = threading.Thread(target=_run_in_thread, args=(app, job_id, mode, locale),
                              name=f"import-{job_id}-{mode}", daemon=True)
    _THREADS[job_id] = thread
    thread.start()
    return thread


def wait_for_jobs(timeout: float = 120.0) -> None:
    """Join the job threads of this process (tests, the benchmark)."""
    deadline = time.monotonic() + timeout
    for thread in list(_THREADS.values()):
        thread.join(max(0.0, deadline - time.monotonic()))


@dataclass
class JobView:
    """What the job page shows of a job's state."""

    status: str
    status_text: str
    polling: bool
    stalled: bool
    done: int
    total: int | None
    percent: int | None


def job_view(job: ImportJob) -> JobView:
    """The job as the page shows it; a running job whose progress has not moved for STALE_AFTER has stopped."""
    status = job.status
    progress = read_progress(job.id) if job.is_running else {"done": 0, "total": None, "age_seconds": None}
    age = progress.get("age_seconds")
    if age is None and job.is_running:
        age = (utcnow() - job.updated_at).total_seconds()
    stalled = job.is_running and age is not None and age > STALE_AFTER.total_seconds()
    if stalled:
        status = ImportStatus.FAILED
    done, total = int(progress.get("done") or 0), progress.get("total")
    percent = min(99, int(done * 100 / total)) if total and job.is_running else None
    text = str(IMPORT_STATUS_LABELS[ImportStatus(status)])
    if stalled:
        text = _("Stopped (the server may have been restarted); nothing was written")
    return JobView(status=str(status), status_text=text, polling=job.is_running and not stalled,
                   stalled=stalled, done=done, total=total, percent=percent)
