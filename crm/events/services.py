"""Writes on events: organise, sign up, record attendance (informing the attendees of the policies presented),
import an attendee list. Validate, flush, audit; callers commit."""
from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core import audit
from crm.core.db import utcnow
from crm.core.uscc import normalize_uscc, uscc_error
from crm.core.validation import ValidationFailed
from crm.events import queries
from crm.events.models import EVENT_KIND_LABELS, Event, EventAttendee
from crm.extensions import db
from crm.policies.services import mark_informed

EVENT_FIELDS = ["kind", "topic", "held_on", "place", "region_id", "note"]
MAX_IMPORT_ROWS = 2000


def _clean(data: dict) -> dict:
    values = {name: data.get(name) for name in EVENT_FIELDS}
    for name in ("topic", "place", "note"):
        values[name] = (values[name] or "").strip()
    errors: dict[str, list] = {}
    if not values["topic"]:
        errors["topic"] = [_l("This field is required.")]
    if values["held_on"] is None:
        errors["held_on"] = [_l("This field is required.")]
    if not values["region_id"]:
        errors["region_id"] = [_l("This field is required.")]
    if values["kind"] not in EVENT_KIND_LABELS:
        errors["kind"] = [_l("Choose a briefing or a training.")]
    for name, limit in (("topic", 160), ("place", 160)):
        if len(values[name]) > limit:
            errors.setdefault(name, []).append(_l("At most %(max)d characters.", max=limit))
    if errors:
        raise ValidationFailed(errors)
    return values


def create_event(data: dict, policies: list, *, actor) -> Event:
    """Organise an event with the policies it presents."""
    event = Event(**_clean(data), created_by_id=getattr(actor, "id", None))
    event.policies = list(policies)
    db.session.add(event)
    db.session.flush()
    audit.record(db.session, "create", event, actor=actor, summary=event.topic,
                 changes={**audit.snapshot(event, EVENT_FIELDS), "policies": [None, [p.title for p in policies]]})
    return event


def update_event(event: Event, data: dict, policies: list, *, actor) -> dict:
    """Change an event (attendance already recorded keeps what it informed)."""
    changes = audit.apply_changes(event, _clean({**{n: getattr(event, n) for n in EVENT_FIELDS}, **data}))
    old, new = sorted(p.title for p in event.policies), sorted(p.title for p in policies)
    if old != new:
        event.policies = list(policies)
        changes["policies"] = [old, new]
    if changes:
        db.session.flush()
        audit.record(db.session, "update", event, actor=actor, changes=changes, summary=event.topic)
    return changes


def sign_up(event: Event, enterprise, *, actor, person: str = "") -> EventAttendee:
    """Sign an enterprise up for the event (once)."""
    person = (person or "").strip()[:60]
    if db.session.scalar(select(EventAttendee.id).where(EventAttendee.event_id == event.id,
                                                        EventAttendee.enterprise_id == enterprise.id)) is not None:
        raise ValidationFailed.one("uscc", _l("%(name)s has already signed up.", name=enterprise.name))
    attendee = EventAttendee(event_id=event.id, enterprise_id=enterprise.id, person=person, attended=False)
    db.session.add(attendee)
    db.session.flush()
    audit.record(db.session, "create", attendee, actor=actor, enterprise_id=enterprise.id,
                 summary=f"{event.topic} · {enterprise.name}", changes={"person": [None, person]} if person else {})
    return attendee


def _attend(event: Event, attendee: EventAttendee, *, actor) -> int:
    """Mark one attendee present and inform its enterprise of the event's policies; how many policies were new."""
    attendee.attended, attendee.attended_at = True, utcnow()
    db.session.flush()
    audit.record(db.session, "update", attendee, actor=actor, enterprise_id=attendee.enterprise_id,
                 summary=f"{event.topic} · {attendee.enterprise.name}", changes={"attended": [False, True]})
    return mark_informed(attendee.enterprise, list(event.policies), actor=actor, on=event.held_on)


def record_attendance(event: Event, attendees: list[EventAttendee], present_ids: set[int], *, actor) -> tuple[int, int]:
    """Set who attended among `attendees` (present: ids in `present_ids`); attending informs the enterprise of the
    policies presented (crm.policies: the 知晓率 counts it). Returns (newly present, policies newly informed)."""
    newly = informed = 0
    for attendee in attendees:
        present = attendee.id in present_ids
        if present and not attendee.attended:
            newly += 1
            informed += _attend(event, attendee, actor=actor)
        elif not present and attendee.attended:
            # a correction: the enterprise stays informed (it may have learned of the policies anyway)
            attendee.attended, attendee.attended_at = False, None
            db.session.flush()
            audit.record(db.session, "update", attendee, actor=actor, enterprise_id=attendee.enterprise_id,
                         summary=f"{event.topic} · {attendee.enterprise.name}", changes={"attended": [True, False]})
    return newly, informed


@dataclass
class AttendeeImport:
    """What an attendee list did or would do: rows rejected (row, reason), rows signed up, rows already there."""

    rejected: list[tuple[int, str]] = field(default_factory=list)
    signed_up: int = 0
    already: int = 0
    attended: int = 0
    informed: int = 0


_USCC_HEADERS = {"统一社会信用代码", "uscc", "社会信用代码", "信用代码"}
_PERSON_HEADERS = {"参会人", "参会人员", "姓名", "person", "attendee", "name"}


def _header(text) -> str:
    """A header as matched: full-width folded, spaces and a trailing note in brackets dropped (“（必填）”)."""
    import re

    from crm.io.forms import normalize_word

    word = normalize_word(str(text or "")).strip("*")
    return re.sub(r"\(.*\)$", "", word) or word


def import_attendees(event: Event, data: bytes, *, actor, scope_user, attended: bool) -> AttendeeImport:
    """Sign up (and with `attended`, mark present) the enterprises of an Excel list matched by USCC.

    All or nothing: when any row is rejected (USCC malformed, unknown or outside the user's scope, twice in the
    file) nothing is written and the report names each rejected row by its spreadsheet row number.
    """
    from openpyxl import load_workbook

    from crm.io.documents import FileRefused, example_uscc, sniff_format

    if not data:
        raise FileRefused(_l("The file is empty."))
    if len(data) > 5 * 1024 * 1024:
        raise FileRefused(_l("The file is larger than %(mb)s MB; split it into several files.", mb=5))
    if sniff_format(data[:8192]) != "xlsx":
        raise FileRefused(_l("Upload the attendee list as an Excel (.xlsx) file."))
    try:
        wb = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - a damaged file is the user's to fix, not a 500
        raise FileRefused(_l("The file cannot be read as an Excel workbook.")) from None
    try:
        rows = wb.worksheets[0].iter_rows(values_only=True)
        headers = [_header(h) for h in next(rows, ())]
        uscc_col = next((i for i, h in enumerate(headers) if h in _USCC_HEADERS), None)
        person_col = next((i for i, h in enumerate(headers) if h in _PERSON_HEADERS), None)
        if uscc_col is None:
            raise FileRefused(_l("The first row must name a column 统一社会信用代码 (USCC)."))
        report, wanted, seen = AttendeeImport(), [], {}
        for number, values in enumerate(rows, start=2):
            if number - 1 > MAX_IMPORT_ROWS:
                raise FileRefused(_l("At most %(n)d rows at a time.", n=MAX_IMPORT_ROWS))
            if not values or all(v in (None, "") for v in values):
                continue
            raw = values[uscc_col] if uscc_col < len(values) else None
            code = normalize_uscc(str(raw or ""))
            if code == example_uscc():  # the template's example row
                continue
            error = uscc_error(code)
            if error:
                report.rejected.append((number, str(error)))
                continue
            if code in seen:
                report.rejected.append((number, str(_l("The same USCC is on row %(row)d.", row=seen[code]))))
                continue
            seen[code] = number
            enterprise = queries.enterprise_by_uscc(scope_user, code)
            if enterprise is None:
                report.rejected.append((number, str(_l("No enterprise with this USCC in your scope."))))
                continue
            person = values[person_col] if person_col is not None and person_col < len(values) else ""
            wanted.append((enterprise, str(person or "").strip()[:60]))
    finally:
        wb.close()
    if report.rejected:
        return report
    existing = {a.enterprise_id: a for a in db.session.scalars(
        select(EventAttendee).where(EventAttendee.event_id == event.id))}
    for enterprise, person in wanted:
        attendee = existing.get(enterprise.id)
        if attendee is None:
            attendee = sign_up(event, enterprise, actor=actor, person=person)
            report.signed_up += 1
        else:
            report.already += 1
        if attended and not attendee.attended:
            report.attended += 1
            report.informed += _attend(event, attendee, actor=actor)
    return report
