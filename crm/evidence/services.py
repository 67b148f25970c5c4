"""Writes of evidence: attachments kept safely, check-ins, joint visits, visit plans. Validate, flush, audit.

Files are recognised by their content (magic bytes; Office files by the [Content_Types].xml in their
ZIP), never by their name or the MIME type the browser claims, and stored under ATTACHMENTS_DIR at
a random name in sharded folders, so nothing uploaded is ever served as a page or a script.
"""
from __future__ import annotations

import io
import os
import shutil
import uuid
import zipfile
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, event, insert, select
from sqlalchemy.orm import Session

from crm.auth.models import User
from crm.core import audit, clock
from crm.core.policy import Role
from crm.core.validation import ValidationFailed
from crm.enterprises.models import Enterprise
from crm.evidence import queries
from crm.evidence.models import Attachment, CheckIn, VisitPlan, visit_departments, visit_officers
from crm.extensions import db
from crm.service import queries as service_queries
from crm.service.models import Department, Visit

# What the app accepts: the content type it is recognised as → the extension it is served with.
ACCEPTED = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}
_OFFICE_PARTS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml":
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml":
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# [Content_Types].xml is a few kB; a larger one is not an Office file we take (and reading it is bounded).
_CONTENT_TYPES_MAX = 256 * 1024


def sniff(stream) -> str | None:
    """The accepted content type of a seekable binary stream, from its bytes; None when it is none of them."""
    stream.seek(0)
    head = stream.read(16)
    stream.seek(0)
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(stream) as archive:
                info = archive.getinfo("[Content_Types].xml")
                if info.file_size > _CONTENT_TYPES_MAX:
                    return None
                types = archive.read(info).decode("utf-8", "replace")
        except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, NotImplementedError):
            return None
        finally:
            stream.seek(0)
        for part, mime in _OFFICE_PARTS.items():
            if part in types:
                return mime
    return None


def attachments_root() -> Path:
    """Where attachments are kept (ATTACHMENTS_DIR, default instance/attachments)."""
    configured = current_app.config.get("ATTACHMENTS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "attachments"


def stored_path(stored_name: str) -> Path:
    """The file of a stored name: two levels of folders from the name's first characters (no folder grows huge)."""
    if len(stored_name) != 32 or not all(c in "0123456789abcdef" for c in stored_name):
        raise ValueError("not a stored name")
    return attachments_root() / stored_name[:2] / stored_name[2:4] / stored_name


def _size(stream) -> int:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _clean_name(filename: str | None) -> str:
    """The name to offer on download: the last path part, printable, at most 200 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"<>').strip()
    return (name or "file")[-200:]


def _refuse(message) -> None:
    raise ValidationFailed.one("files", message)


def add_attachment(kind: str, parent, upload, *, actor) -> Attachment:
    """Keep an uploaded file (a werkzeug FileStorage) beside a visit, need or certification; audited.

    Refused (nothing written) when it is empty, over ATTACHMENT_MAX_BYTES, or not one of ACCEPTED by its content.
    """
    if not isinstance(actor, str) and not queries.can_attach(actor, kind, parent):
        _refuse(_l("You may not add files to this record."))
    name = _clean_name(upload.filename)
    stream = upload.stream
    size = _size(stream)
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    if size == 0:
        _refuse(_l("%(name)s is empty.", name=name))
    if size > limit:
        _refuse(_l("%(name)s is larger than %(mb)s MB.", name=name, mb=round(limit / 1024 / 1024, 1)))
    mime = sniff(stream)
    if mime is None:
        _refuse(_l("%(name)s is not a photo (JPEG, PNG, WebP), a PDF, a Word (.docx) or an Excel (.xlsx) file.",
                   name=name))
    stored_name = uuid.uuid4().hex
    path = stored_path(stored_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with open(partial, "xb") as out:
        shutil.copyfileobj(stream, out, 1024 * 1024)
    os.chmod(partial, 0o640)
    os.replace(partial, path)
    _written(path)
    attachment = Attachment(parent_type=kind, parent_id=parent.id, enterprise_id=parent.enterprise_id,
                            stored_name=stored_name, original_name=name, mime=mime, size=size,
                            uploaded_by_id=getattr(actor, "id", None))
    db.session.add(attachment)
    db.session.flush()
    audit.record(db.session, "create", attachment, actor=actor, enterprise_id=parent.enterprise_id,
                 changes=audit.snapshot(attachment, ["parent_type", "parent_id", "original_name", "mime", "size"]),
                 summary=f"{parent.enterprise.name} · {name}")
    return attachment


def _written(path: Path) -> None:
    """Remember a file written in this unit of work, so a rollback removes it (no orphan bytes)."""
    db.session.info.setdefault("evidence_written", []).append(path)


@event.listens_for(Session, "after_commit")
def _forget_written(session) -> None:
    """After a commit the files written belong to their rows."""
    session.info.pop("evidence_written", None)


@event.listens_for(Session, "after_soft_rollback")
def _remove_written(session, previous_transaction) -> None:
    """After a rollback the files this unit of work wrote have no row: delete them."""
    for path in session.info.pop("evidence_written", []):
        Path(path).unlink(missing_ok=True)


def add_attachments(kind: str, parent, uploads, *, actor) -> list[Attachment]:
    """Several files at once (at most ATTACHMENT_MAX_FILES); all or none."""
    uploads = [u for u in uploads if u and u.filename]
    if len(uploads) > current_app.config["ATTACHMENT_MAX_FILES"]:
        _refuse(_l("At most %(n)s files at once.", n=current_app.config["ATTACHMENT_MAX_FILES"]))
    return [add_attachment(kind, parent, u, actor=actor) for u in uploads]


def delete_attachment(attachment: Attachment, *, actor) -> Path:
    """Remove an attachment (its uploader or an admin); audited. Returns the file to delete after the commit."""
    if not isinstance(actor, str) and not queries.can_delete_attachment(actor, attachment):
        raise ValidationFailed.one("", _l("Only the person who added a file, or an administrator, may delete it."))
    path = stored_path(attachment.stored_name)
    audit.record(db.session, "delete", attachment, actor=actor, enterprise_id=attachment.enterprise_id,
                 changes={k: [v, None] for k, v in (("parent_type", attachment.parent_type),
                                                     ("parent_id", attachment.parent_id),
                                                     ("original_name", attachment.original_name))},
                 summary=attachment.original_name)
    db.session.delete(attachment)
    db.session.flush()
    return path


def store_bytes(kind: str, parent, name: str, content: bytes, *, actor) -> Attachment:
    """Keep bytes made by the app (the demo's pictures) as an attachment, through the same checks."""
    from werkzeug.datastructures import FileStorage

    return add_attachment(kind, parent, FileStorage(stream=io.BytesIO(content), filename=name), actor=actor)


# --- check-ins -------------------------------------------------------------------------------------

def _coordinate(raw, low: int, high: int) -> Decimal | None:
    try:
        value = Decimal(str(raw).strip()) if raw not in (None, "") else None
    except InvalidOperation:
        return None
    if value is None or not value.is_finite() or not (low <= value <= high):
        return None
    return value.quantize(Decimal("0.000001"))


def check_in(enterprise: Enterprise, *, actor, latitude=None, longitude=None, accuracy=None,
             plan: VisitPlan | None = None) -> CheckIn:
    """Record the officer's arrival now (server time); the browser's position only when both coordinates are valid."""
    if not service_queries.can_record(actor, enterprise):
        raise ValidationFailed.one("", _l("%(name)s is outside your scope.", name=enterprise.name))
    if plan is not None and (plan.officer_id != actor.id or plan.enterprise_id != enterprise.id):
        raise ValidationFailed.one("", _l("This plan is not yours."))
    lat, lng = _coordinate(latitude, -90, 90), _coordinate(longitude, -180, 180)
    if lat is None or lng is None:
        lat = lng = None
    try:
        acc = int(Decimal(str(accuracy))) if lat is not None and accuracy not in (None, "") else None
    except (InvalidOperation, ValueError):
        acc = None
    acc = acc if acc is None or 0 <= acc <= 100_000 else None
    item = CheckIn(officer_id=actor.id, enterprise_id=enterprise.id, plan_id=plan.id if plan else None,
                   latitude=lat, longitude=lng, accuracy_m=acc)
    db.session.add(item)
    db.session.flush()
    audit.record(db.session, "create", item, actor=actor, enterprise_id=enterprise.id,
                 changes=audit.snapshot(item, ["officer_id", "plan_id", "checked_in_at", "latitude", "longitude",
                                               "accuracy_m"]),
                 summary=enterprise.name)
    return item


def link_check_in(item: CheckIn, visit: Visit, *, actor) -> None:
    """Attach the officer's check-in to the visit recorded after it."""
    item.visit_id = visit.id
    db.session.flush()
    audit.record(db.session, "update", item, actor=actor, enterprise_id=visit.enterprise_id,
                 changes={"visit_id": [None, visit.id]}, summary=visit.enterprise.name)


# --- joint visits ------------------------------------------------------------------------------

def set_joint(visit: Visit, officer_ids, department_ids, *, actor) -> dict:
    """Set the other officers and the departments of a visit; returns the changes (audited on the visit)."""
    officer_ids = sorted({int(i) for i in officer_ids or []} - {visit.officer_id})
    department_ids = sorted({int(i) for i in department_ids or []})
    officers = list(db.session.scalars(select(User).where(User.id.in_(officer_ids)))) if officer_ids else []
    if len(officers) != len(officer_ids) or not all(service_queries.may_take(o, visit.enterprise) for o in officers):
        raise ValidationFailed.one("joint_officer_ids", _l(
            "Choose active officers or managers of the enterprise's region."))
    departments = (list(db.session.scalars(select(Department).where(Department.id.in_(department_ids))))
                   if department_ids else [])
    if len(departments) != len(department_ids):
        raise ValidationFailed.one("department_ids", _l("Choose departments from the list."))
    old_officers = sorted(u.name for u in queries.joint_officers(visit))
    old_departments = sorted(d.name for d in queries.joint_departments(visit))
    new_officers, new_departments = sorted(u.name for u in officers), sorted(d.name for d in departments)
    changes = {}
    if old_officers != new_officers:
        db.session.execute(delete(visit_officers).where(visit_officers.c.visit_id == visit.id))
        if officers:
            db.session.execute(insert(visit_officers), [{"visit_id": visit.id, "user_id": o.id} for o in officers])
        changes["joint_officers"] = [old_officers or None, new_officers or None]
    if old_departments != new_departments:
        db.session.execute(delete(visit_departments).where(visit_departments.c.visit_id == visit.id))
        if departments:
            db.session.execute(insert(visit_departments),
                               [{"visit_id": visit.id, "department_id": d.id} for d in departments])
        changes["departments"] = [old_departments or None, new_departments or None]
    if changes:
        audit.record(db.session, "update", visit, actor=actor, enterprise_id=visit.enterprise_id, changes=changes,
                     summary=f"{visit.enterprise.name} · {visit.visited_on.isoformat()}")
    return changes


# --- visit plans -------------------------------------------------------------------------------------

PLAN_FIELDS = ["officer_id", "enterprise_id", "month", "planned_on", "planned_week", "purpose"]


def _check_plan(data: dict, enterprise: Enterprise, actor) -> dict:
    if not service_queries.can_record(actor, enterprise):
        raise ValidationFailed.one("enterprise_id", _l("%(name)s is outside your scope.", name=enterprise.name))
    month: date = data["month"]
    planned_on = data.get("planned_on")
    if month < queries.month_start(clock.today()):
        raise ValidationFailed.one("month", _l("Plan this month or a later one."))
    if planned_on is not None and queries.month_start(planned_on) != month:
        raise ValidationFailed.one("planned_on", _l("The date must fall in the planned month."))
    week = queries.week_of_month(planned_on) if planned_on else data.get("planned_week")
    if week is not None and not 1 <= int(week) <= 5:
        raise ValidationFailed.one("planned_week", _l("Choose a week of the month."))
    return {"enterprise_id": enterprise.id, "month": month, "planned_on": planned_on,
            "planned_week": int(week) if week else None, "purpose": (data.get("purpose") or "").strip()}


def plan_visit(enterprise: Enterprise, data: dict, *, actor) -> VisitPlan:
    """Add a planned visit to the actor's plan (month, optional date or week, purpose); matched at once when a
    visit of that month is recorded already."""
    values = _check_plan(data, enterprise, actor)
    plan = VisitPlan(officer_id=actor.id, created_by_id=actor.id, **values)
    db.session.add(plan)
    db.session.flush()
    audit.record(db.session, "create", plan, actor=actor, enterprise_id=enterprise.id,
                 changes=audit.snapshot(plan, PLAN_FIELDS), summary=f"{enterprise.name} · {plan.month:%Y-%m}")
    _match_plan(plan, actor=actor)
    return plan


def update_plan(plan: VisitPlan, data: dict, *, actor) -> dict:
    """Change a planned visit's month, date, week or purpose (its officer or an admin)."""
    if not queries.can_change_plan(actor, plan):
        raise ValidationFailed.one("", _l("Only the plan's officer may change it."))
    values = _check_plan({**data}, plan.enterprise, actor if actor.role != Role.ADMIN else plan.officer)
    values.pop("enterprise_id")
    changes = audit.apply_changes(plan, values)
    if changes:
        db.session.flush()
        audit.record(db.session, "update", plan, actor=actor, enterprise_id=plan.enterprise_id, changes=changes,
                     summary=f"{plan.enterprise.name} · {plan.month:%Y-%m}")
        if plan.visit_id is None:
            _match_plan(plan, actor=actor)
    return changes


def delete_plan(plan: VisitPlan, *, actor) -> None:
    """Take a planned visit off the plan (its officer or an admin); audited."""
    if not queries.can_change_plan(actor, plan):
        raise ValidationFailed.one("", _l("Only the plan's officer may change it."))
    db.session.execute(CheckIn.__table__.update().where(CheckIn.plan_id == plan.id).values(plan_id=None))
    audit.record(db.session, "delete", plan, actor=actor, enterprise_id=plan.enterprise_id,
                 changes={k: [v, None] for k, v in audit.snapshot(plan, PLAN_FIELDS).items()},
                 summary=f"{plan.enterprise.name} · {plan.month:%Y-%m}")
    db.session.delete(plan)
    db.session.flush()


def _match_plan(plan: VisitPlan, *, actor) -> None:
    """Fill a plan with the officer's earliest unmatched visit of that enterprise and month, if one was recorded."""
    claimed = select(VisitPlan.visit_id).where(VisitPlan.officer_id == plan.officer_id,
                                               VisitPlan.visit_id.is_not(None))
    visit = db.session.scalar(
        select(Visit).where(Visit.enterprise_id == plan.enterprise_id, Visit.visited_on >= plan.month,
                            Visit.visited_on < queries.next_month(plan.month), queries.involves(plan.officer_id),
                            Visit.id.not_in(claimed))
        .order_by(Visit.visited_on, Visit.id).limit(1))
    if visit is not None:
        _fill(plan, visit, actor=actor)


def _fill(plan: VisitPlan, visit: Visit, *, actor) -> None:
    plan.visit_id = visit.id
    db.session.flush()
    audit.record(db.session, "update", plan, actor=actor, enterprise_id=plan.enterprise_id,
                 changes={"visit_id": [None, visit.id]}, summary=f"{plan.enterprise.name} · {plan.month:%Y-%m}")


def match_visit(visit: Visit, *, actor) -> list[VisitPlan]:
    """Fill the open plans of the visit's officers (author and joint) for its enterprise and month; returns them.

    Plans it filled before that no longer fit (its date moved to another month, a joint officer was taken off)
    are opened again first.
    """
    officer_ids = [visit.officer_id, *(u.id for u in queries.joint_officers(visit))]
    month = queries.month_start(visit.visited_on)
    for stale in db.session.scalars(select(VisitPlan).where(
            VisitPlan.visit_id == visit.id,
            (VisitPlan.month != month) | VisitPlan.officer_id.not_in(officer_ids))):
        stale.visit_id = None
        db.session.flush()
        audit.record(db.session, "update", stale, actor=actor, enterprise_id=stale.enterprise_id,
                     changes={"visit_id": [visit.id, None]},
                     summary=f"{stale.enterprise.name} · {stale.month:%Y-%m}")
        _match_plan(stale, actor=actor)
    plans = list(db.session.scalars(select(VisitPlan).where(
        VisitPlan.enterprise_id == visit.enterprise_id, VisitPlan.month == queries.month_start(visit.visited_on),
        VisitPlan.officer_id.in_(officer_ids), VisitPlan.visit_id.is_(None))))
    for plan in plans:
        _fill(plan, visit, actor=actor)
    return plans


def record_evidence(visit: Visit, *, actor, joint_officer_ids=(), department_ids=(), check_in_id=None,
                    uploads=()) -> list[VisitPlan]:
    """What the visit form adds to a new visit: joint officers and departments, the check-in, photos; then the
    matching plans are filled. Returns the plans filled."""
    set_joint(visit, joint_officer_ids, department_ids, actor=actor)
    item = queries.open_check_in(actor, check_in_id, visit.enterprise)
    if item is not None:
        link_check_in(item, visit, actor=actor)
    add_attachments("visit", visit, uploads, actor=actor)
    return match_visit(visit, actor=actor)
