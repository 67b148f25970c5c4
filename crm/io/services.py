"""Imports: every row checked by the registry's own rules, the accepted ones written through its services.

    table = documents.read_table(path, "enterprises")
    report = import_table("enterprises", table, actor=user)   # flushes and audits; never commits
    db.session.commit()  # or rollback(): a preview, or "all or nothing" with rejected rows

A row is parsed by the kind's row form (crm.io.forms: the registry forms' own fields, checked by RowChecker),
then written. IP and certifications go through save_ip / record_certification / update_certification, which
check what needs the database and audit the change. Enterprises and annual figures — the files of 50,000 rows —
are checked by the same rules as create_enterprise / update_enterprise / save_figures (check_enterprise,
check_figures; the lookups they need answered from the chunk's: existing rows are read 500 at a time by key) and
written in bulk per chunk (_BulkRows: INSERT … RETURNING, versioned UPDATEs, the audit events in one INSERT, the
policy matches refreshed once at the end). A refusal of either becomes a rejected row with its sheet row number,
the column as the file names it and the reason in plain words; the row is not written and the others go on. Rows
are upserted by their key (USCC; and the year for figures; kind and number for IP; tier and number for
certifications): a row equal to what is stored counts as unchanged and writes nothing. A column left out of the
file leaves its field as it is.

A user as `actor` imports only within their scope: an officer new enterprises in their region and changes
to the enterprises they serve (as on the pages); a manager the enterprises of their region (the section
loads its yearly lists — the one write a manager makes on the registry); any other actor (the command
line) is the system and unrestricted.
"""
from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, tuple_
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from crm.auth.models import User
from crm.core import audit
from crm.core.concurrency import StaleVersion, stale_message
from crm.core.db import utcnow
from crm.core.policy import Role
from crm.core.validation import ValidationFailed
from crm.core.xlsx import FORMULA_START
from crm.enterprises import services as registry
from crm.enterprises.models import (
    IMPORT_SOURCES,
    AnnualFigures,
    Enterprise,
    FigureReport,
    FigureSource,
    IntellectualProperty,
    Region,
)
from crm.enterprises.queries import can_create_in_region, can_edit_enterprise, can_view_enterprise, subtree_ids
from crm.extensions import db
from crm.io.documents import MAX_CELL_CHARS, FileRefused, Table, example_uscc, read_table, sniff_format
from crm.io.forms import COLUMNS, KEYS, ROW_FORMS, Column, RowChecker, normalize_header, normalize_word
from crm.io.models import ImportJob, ImportKind, ImportStatus
from crm.ladder import services as ladder
from crm.ladder.models import Certification, CertificationStatus

CHUNK = 500  # rows parsed, looked up and written together
# On PostgreSQL the tables an import fills are analysed again after this many new rows: a first import into an
# empty registry otherwise looks each chunk up with the plan of an empty table (a sequential scan with a 500-value
# IN list: 50,000 enterprises took 78 s, 42 of them in the database), and the re-ranking at its end likewise.
ANALYZE_EVERY = 10_000
CHANGES_KEPT = 200  # updated rows whose changes the preview shows
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_ROWS = 100_000
_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
# a service's field name → the import column it comes from
_FIELD_COLUMN = {"region_id": "region_code"}


@dataclass
class ImportReport:
    """What an import did (or, in a preview, would do)."""

    kind: str
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_example: int = 0
    rejects: list[dict] = field(default_factory=list)
    rejected_rows: set[int] = field(default_factory=set)
    changes: list[dict] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """How many rows were rejected (a row may have several reasons)."""
        return len(self.rejected_rows)

    def as_dict(self) -> dict:
        """The stable report of DESIGN §5: counts and every rejected row's reasons."""
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": list(self.rejects)}


class _Rejected(Exception):
    def __init__(self, field_name: str, message):
        super().__init__(str(message))
        self.field_name = field_name
        self.message = message


# --- headers -------------------------------------------------------------------------------------------

def map_columns(kind: str, headers: list[str]) -> tuple[dict[str, int], list[str]]:
    """{field: index of its column} for the file's headers, and the headers no column matched.

    FileRefused when a required column is missing or a column appears twice.
    """
    by_name: dict[str, Column] = {}
    for column in COLUMNS[kind]:
        for name in column.names():
            by_name.setdefault(name, column)
    mapping: dict[str, int] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        if not header:
            continue
        column = by_name.get(normalize_header(header))
        if column is None:
            ignored.append(header)
            continue
        if column.field in mapping:
            if column.info:
                continue
            raise FileRefused(_l("The column %(name)s appears twice.", name=header))
        mapping[column.field] = index
    missing = [str(c.label) for c in COLUMNS[kind] if c.required and c.field not in mapping]
    if missing:
        raise FileRefused(_l("Required column(s) missing: %(names)s.", names="、".join(missing)))
    return mapping, ignored


# --- cells ----------------------------------------------------------------------------------------------

def cell_text(value, type_: str) -> str:
    """A cell's value as the text a form field parses (Excel dates and serial numbers, whole floats, 2024年)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat() if type_ in ("date", "text") else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float) and type_ == "date":
        if 1 <= value < 2958466:  # an Excel serial day number
            return (_EXCEL_EPOCH + timedelta(days=int(value))).isoformat()
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return "?"
        rounded = round(value, 6)
        return str(int(rounded)) if rounded.is_integer() else repr(rounded)
    if isinstance(value, Decimal):
        return format(value, "f")
    text = str(value).strip()
    if type_ == "date":
        match = _DATE_TEXT.fullmatch(text)
        if match:
            y, m, d = match.groups()
            return f"{y}-{int(m):02d}-{int(d):02d}"
        if re.fullmatch(r"\d{8}", text):
            return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    elif type_ == "year":
        text = re.sub(r"\s*年度?$", "", text)
    return text


# --- the rows of one kind --------------------------------------------------------------------------------

class _Rows(ABC):
    """Parse, look up and write the rows of one kind (subclasses: prefetch and apply)."""

    kind: str = ""

    def __init__(self, actor, mapping: dict[str, int], headers: list[str], report: ImportReport):
        self.actor = actor
        self.user = actor if isinstance(actor, User) else None
        self.mapping = mapping
        self.headers = headers
        self.report = report
        self.columns = {c.field: c for c in COLUMNS[self.kind]}
        self.form_class = ROW_FORMS[self.kind]
        self.checker = RowChecker(self.form_class)  # the row form, bound once, checks every row
        self.seen: dict[tuple, int] = {}
        self.example = example_uscc()
        self._editable: dict[int, bool] = {}

    # -- names and rejections
    def column_name(self, field_name: str) -> str:
        """The column as the file names it (else its label)."""
        name = _FIELD_COLUMN.get(field_name, field_name)
        if name not in self.columns:
            name = KEYS[self.kind][0]
        if name in self.mapping:
            return self.headers[self.mapping[name]]
        return str(self.columns[name].label)

    def reject(self, number: int, field_name: str, message) -> None:
        self.report.rejects.append({"row": number, "column": self.column_name(field_name), "reason": str(message)})
        self.report.rejected_rows.add(number)

    # -- parsing
    def parse(self, number: int, values: tuple) -> dict | None:
        """The row's values by field (only the columns present), or None when the row is rejected."""
        formdata: dict[str, str] = {}
        problems = []
        for name, index in self.mapping.items():
            column = self.columns[name]
            if column.info:
                continue
            value = values[index] if index < len(values) else None
            if isinstance(value, str):
                if value.startswith("="):
                    problems.append((name, _l("Formulas are not imported; paste the values only.")))
                    continue
                if len(value) > MAX_CELL_CHARS:
                    problems.append((name, _l("The cell holds more than %(n)s characters.", n=MAX_CELL_CHARS)))
                    continue
                if value.startswith("'") and value[1:2] in FORMULA_START and value[1:2]:
                    value = value[1:]  # an export's protection of text that starts like a formula
            formdata[name] = cell_text(value, column.type)
        if problems:
            for name, message in problems:
                self.reject(number, name, message)
            return None
        if normalize_word(formdata.get("uscc", "")).upper() == self.example:
            self.report.skipped_example += 1
            self.report.total -= 1
            return None
        errors, checked = self.checker.check(formdata)
        if errors:
            for name, messages in errors.items():
                if name in self.mapping:
                    for message in messages:
                        self.reject(number, name, message)
            if number in self.report.rejected_rows:
                return None
        return {name: checked[name] for name in self.mapping if not self.columns[name].info}

    # -- scope
    def may_edit(self, enterprise: Enterprise) -> bool:
        if self.user is None:
            return True
        if enterprise.id not in self._editable:
            if self.user.role == Role.MANAGER:
                self._editable[enterprise.id] = can_view_enterprise(self.user, enterprise)
            else:
                self._editable[enterprise.id] = can_edit_enterprise(self.user, enterprise)
        return self._editable[enterprise.id]

    def may_read(self, enterprise: Enterprise) -> bool:
        return self.user is None or can_view_enterprise(self.user, enterprise)

    def once(self, number: int, key: tuple, field_name: str) -> None:
        first = self.seen.get(key)
        if first is not None:
            raise _Rejected(field_name, _l("This row repeats row %(row)s (the same key).", row=first))
        self.seen[key] = number

    filled: tuple[str, ...] = ()  # the tables this kind's rows are written to (analysed as they grow)
    _analysed_at = 0  # rows created when they were last analysed

    def keep_statistics(self) -> None:
        """ANALYZE the tables filled once ANALYZE_EVERY more rows were created (PostgreSQL; SQLite plans alike)."""
        if self.report.created - self._analysed_at < ANALYZE_EVERY or db.engine.dialect.name != "postgresql":
            return
        self._analysed_at = self.report.created
        for name in self.filled:
            db.session.execute(sa.text(f'ANALYZE "{name}"'))

    # -- the chunk
    def run(self, chunk: list[tuple[int, tuple]]) -> None:
        parsed = []
        for number, values in chunk:
            data = self.parse(number, values)
            if data is not None:
                parsed.append((number, data))
        if not parsed:
            return
        self.prefetch([data for _n, data in parsed])
        for number, data in parsed:
            try:
                self.apply(number, data)
            except _Rejected as exc:
                self.reject(number, exc.field_name, exc.message)
            except ValidationFailed as failure:
                self.reject_failure(number, failure)
        self.write()

    def reject_failure(self, number: int, failure: ValidationFailed) -> None:
        for name, messages in failure.errors.items():
            for message in messages:
                self.reject(number, name or KEYS[self.kind][0], message)

    def write(self) -> None:
        """Write what the chunk's rows queued (the kinds written row by row through the services: flush them)."""
        db.session.flush()

    def note_change(self, number: int, key: str, name: str, changes: dict) -> None:
        self.report.updated += 1
        if len(self.report.changes) < CHANGES_KEPT:
            self.report.changes.append({"row": number, "key": key, "name": name, "changes": {
                self.column_name(f): [_shown(old), _shown(new)] for f, (old, new) in changes.items()}})

    @abstractmethod
    def prefetch(self, rows: list[dict]) -> None:
        """Load what the rows refer to (enterprises, existing records) in a few queries, before applying them."""

    @abstractmethod
    def apply(self, number: int, data: dict) -> None:
        """Create, update or leave unchanged the record of one checked row."""

    # -- shared lookups
    def enterprises_by_uscc(self, rows: list[dict]) -> dict[str, Enterprise]:
        codes = {r["uscc"] for r in rows}
        return {e.uscc: e for e in db.session.scalars(select(Enterprise).where(Enterprise.uscc.in_(codes)))}

    def enterprise_for(self, uscc: str) -> Enterprise:
        enterprise = self.enterprises.get(uscc)
        if enterprise is None or not self.may_read(enterprise):
            raise _Rejected("uscc", _l("No enterprise with this unified social credit code in your scope; "
                                       "import or register the enterprise first."))
        if not self.may_edit(enterprise):
            raise _Rejected("uscc", _l("You may not change this enterprise (outside your scope, or not "
                                       "assigned to you)."))
        return enterprise


def _shown(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _diff(obj, values: dict) -> dict:
    return {f: (getattr(obj, f), new) for f, new in values.items() if getattr(obj, f) != new}


@dataclass
class _Update:
    """A checked change of one stored row, waiting for its chunk's write."""

    number: int
    record: object  # the stored row as read (its id, its version, the values before)
    values: dict  # the columns to set
    audit_changes: dict  # {field: [old, new]} for the trail
    enterprise_id: int
    summary: str
    key: str  # the report's row key and name, and the changes it shows
    name: str
    shown: dict


class _BulkRows(_Rows):
    """A kind written in bulk: each row is checked by the registry's rules as its service would (the pure checks
    shared with it, the ones that need the database answered from the chunk's lookups), queued, and the chunk
    written at its end with a few statements — INSERT … RETURNING and versioned UPDATEs executemany, the trail as
    one INSERT executemany of the same events the service would record, the policy matches deferred as before.

    A further record per written row (the provenance of imported figures, say) is one more executemany in a
    subclass's written(), which gets the created rows with their new ids and the updates that were written.
    """

    model: type = None  # Enterprise or AnnualFigures
    entity_type: str = ""

    def __init__(self, *args):
        super().__init__(*args)
        self.table = self.model.__table__
        self.creates: list[tuple[int, dict, str]] = []  # (row number, columns, summary)
        self.updates: list[_Update] = []

    def write(self) -> None:
        creates, updates = self.creates, self.updates
        self.creates, self.updates = [], []
        now, ip = utcnow(), audit.client_ip()
        events = []
        touched: set[int] = set()
        created: list[tuple[int, tuple]] = []
        if creates:
            columns = [values for _n, values, _s in creates]
            ids = list(db.session.scalars(self.table.insert().returning(self.table.c.id, sort_by_parameter_order=True),
                                          columns))
            for (_number, values, summary), new_id in zip(creates, ids, strict=True):
                enterprise_id = self.enterprise_of(new_id, values)
                events.append(audit.event_values(
                    "create", self.entity_type, new_id, actor=self.actor, enterprise_id=enterprise_id, summary=summary,
                    changes=audit.snapshot_values(values, self.audited), ip=ip, at=now))
                touched.add(enterprise_id)
            created = list(zip(ids, creates, strict=True))
        updated = self._versioned_updates(updates, now)
        self.written(created, updated)
        for update in updated:
            events.append(audit.event_values(
                "update", self.entity_type, update.record.id, actor=self.actor, enterprise_id=update.enterprise_id,
                changes=update.audit_changes, summary=update.summary, ip=ip, at=now))
            touched.add(update.enterprise_id)
            self.note_change(update.number, update.key, update.name, update.shown)
        audit.record_many(db.session, events)
        if touched:
            from crm.ladder.services import rerank_enterprises
            from crm.policies.services import rematch_enterprises

            # deferred by import_table: one refresh of each at its end
            rematch_enterprises(touched)
            rerank_enterprises(touched)

    def _versioned_updates(self, updates: list[_Update], now) -> list[_Update]:
        """UPDATE the queued rows, grouped by the columns they set: `WHERE id = ? AND version = ?`, the version bumped
        (the optimistic lock, as the ORM's version_id_col does). A row saved by someone else since it was loaded
        is not written and is rejected as the pages refuse it; returns the updates written."""
        groups: dict[tuple, list[_Update]] = {}
        for update in updates:
            groups.setdefault(tuple(sorted(update.values)), []).append(update)
        table, written = self.table, []
        for _columns, group in groups.items():
            stmt = (table.update().where(table.c.id == sa.bindparam("_id"), table.c.version == sa.bindparam("_version"))
                    .values(version=table.c.version + 1))
            params = [{**u.values, "updated_at": now, "_id": u.record.id, "_version": u.record.version}
                      for u in group]
            result = db.session.execute(stmt, params)
            if result.rowcount == len(group):
                written.extend(group)
                continue
            # someone saved some of these rows since they were loaded: ours are the ones at their next version
            # and stamped now; the others were not written
            current = {row.id: row for row in db.session.execute(select(
                table.c.id, table.c.version, table.c.updated_at).where(table.c.id.in_([u.record.id for u in group])))}
            for u in group:
                row = current.get(u.record.id)
                if row is not None and row.version == u.record.version + 1 and row.updated_at == now:
                    written.append(u)
                else:
                    self.reject(u.number, KEYS[self.kind][0], stale_message(row))
        for u in written:  # an object of the session holding the row takes its new values (no reload, no flush)
            held = db.session.identity_map.get(identity_key(self.model, u.record.id))
            if held is not None:
                for name, value in (u.values | {"version": u.record.version + 1, "updated_at": now}).items():
                    set_committed_value(held, name, value)
        return written

    def stored(self, model, *where) -> list:
        """The stored rows of `model` matching `where` as plain rows (attributes by column): read, compared and
        written by id and version, never held by the session (no objects to load, track and expunge)."""
        return db.session.execute(select(*model.__table__.c).where(*where)).all()

    def enterprise_of(self, new_id: int, values: dict) -> int:
        return values["enterprise_id"]

    def written(self, created: list[tuple[int, tuple]], updated: list[_Update]) -> None:
        """After the chunk's rows are written, before their trail: `created` as (new id, (row number, columns,
        summary)), `updated` the updates written (a row saved by someone else meanwhile is not among them)."""

    audited: tuple = ()


class _EnterpriseRows(_BulkRows):
    kind = ImportKind.ENTERPRISES
    model = Enterprise
    filled = ("enterprises",)
    entity_type = "enterprises"
    audited = tuple(registry.ENTERPRISE_FIELDS)

    def __init__(self, *args):
        super().__init__(*args)
        regions = list(db.session.scalars(select(Region)))
        self.regions = {r.code.upper(): r for r in regions}
        self.region_codes = {r.id: r.code for r in regions}
        self.regions_by_id = {r.id: r for r in regions}
        self.parks: dict[str, Region] = {}
        for r in regions:
            if r.level == "park":
                self.parks[normalize_word(r.code)] = r
                self.parks.setdefault(normalize_word(r.name), r)
        self.enterprises: dict[str, Enterprise] = {}
        self._creatable: dict[int, bool] = {}

    def may_create_in(self, region_id: int) -> bool:
        if self.user is None:
            return True
        if region_id not in self._creatable:
            if self.user.role == Role.MANAGER:
                self._creatable[region_id] = region_id in subtree_ids(self.user.region_id)
            else:
                self._creatable[region_id] = can_create_in_region(self.user, region_id)
        return self._creatable[region_id]

    def prefetch(self, rows):
        codes = {r["uscc"] for r in rows}
        self.enterprises = {e.uscc: e for e in self.stored(Enterprise, Enterprise.uscc.in_(codes))}

    def checked(self, data: dict, existing) -> dict:
        """create_enterprise's / update_enterprise's checks (crm.enterprises.services.check_enterprise) on `data`,
        the USCC and the region answered from the chunk's lookups; ValidationFailed as the service raises it."""
        def uscc_taken(uscc: str) -> bool:
            other = self.enterprises.get(uscc)
            return other is not None and other is not existing

        errors = registry.check_enterprise(data, uscc_taken=uscc_taken,
                                           region_known=lambda region_id: region_id in self.regions_by_id)
        if errors:
            raise ValidationFailed(errors)
        return data

    def apply(self, number, data):
        uscc = data["uscc"]
        self.once(number, (uscc,), "uscc")
        existing = self.enterprises.get(uscc)
        region = self.regions.get((data.get("region_code") or "").upper())
        if region is None:
            raise _Rejected("region_code", _l("Unknown region code."))
        if "park" in self.mapping and data.get("park"):
            park = self.parks.get(normalize_word(data["park"]))
            if park is None or not park.path.startswith(region.path):
                raise _Rejected("park", _l("Unknown park, or the park does not lie in this region."))
            region = park
        elif ("park" not in self.mapping and existing is not None and existing.region_id != region.id
              and self.regions_by_id.get(existing.region_id) is not None
              and self.regions_by_id[existing.region_id].level == "park"
              and self.regions_by_id[existing.region_id].path.startswith(region.path)):
            region = self.regions_by_id[existing.region_id]  # the file names the county; the park stays
        values = {"name": data["name"], "uscc": uscc, "region_id": region.id,
                  "industry_code": (data["industry_code"] or "").strip().upper()}
        for name in ("established_on", "tech_domain", "address", "is_above_scale"):
            if name in self.mapping:
                values[name] = data[name]
        if "address" in values:
            values["address"] = values["address"] or ""
        if "is_above_scale" in values:
            values["is_above_scale"] = bool(values["is_above_scale"])
        if existing is not None:
            if not self.may_read(existing) or not self.may_edit(existing):
                raise _Rejected("uscc", _l("You may not change this enterprise (outside your scope, or not "
                                           "assigned to you)."))
            if existing.region_id != region.id and not self.may_create_in(region.id):
                raise _Rejected("region_code", _l("You may not register enterprises in this region."))
            changes = _diff(existing, values)
            if not changes:
                self.report.unchanged += 1
                return
            full = self.checked({f: getattr(existing, f) for f in registry.ENTERPRISE_FIELDS} | values, existing)
            audit_changes = audit.diff(existing, full)
            if "region_id" in changes:
                old, new = changes.pop("region_id")
                changes["region_code"] = (self.region_codes.get(old), self.region_codes.get(new))
            self.updates.append(_Update(number, existing, {f: full[f] for f in audit_changes}, audit_changes,
                                        existing.id, full["name"], uscc, full["name"], changes))
            return
        if not self.may_create_in(region.id):
            raise _Rejected("region_code", _l("You may not register enterprises in this region."))
        full = self.checked({"address": "", "tech_domain": None, "established_on": None, "is_above_scale": False,
                             "status": "active"} | values, None)
        self.creates.append((number, full, full["name"]))
        self.report.created += 1

    def enterprise_of(self, new_id, values):
        return new_id

    def written(self, created, updated):
        if self.user is None or not created:
            return
        from crm.service.services import assign_creator

        ids = [new_id for new_id, _create in created]
        for enterprise in db.session.scalars(select(Enterprise).where(Enterprise.id.in_(ids))):
            assign_creator(enterprise, self.user, actor=self.user)  # the officer who registers it serves it


_FIGURE_VALUES = (*registry.FIGURE_FIELDS[1:-1],)  # the amounts and counts (not year, not source)


class _FigureRows(_Rows):
    # Through the registry's save_report (not the bulk writer of enterprises: each row is its source's report,
    # and the year's effective figures are resolved from every source's by priority), its writes staged for one
    # flush and one INSERT of the trail per chunk (registry.StagedWrites), not two flushes a row.
    kind = ImportKind.FIGURES
    filled = ("annual_figures", "figure_reports")
    # the file's source (import, tax, statistics), its name and its job: each row becomes that source's report
    origin: tuple[str, str, int | None] = (FigureSource.IMPORT, "", None)

    def prefetch(self, rows):
        self.staged = registry.StagedWrites()
        self.enterprises = self.enterprises_by_uscc(rows)
        ids = [e.id for e in self.enterprises.values()]
        self.figures = {(f.enterprise_id, f.year): f for f in db.session.scalars(
            select(AnnualFigures).where(AnnualFigures.enterprise_id.in_(ids)))} if ids else {}
        self.reports: dict[tuple, list] = {}
        for report in db.session.scalars(select(FigureReport).where(FigureReport.enterprise_id.in_(ids))) if ids else ():
            self.reports.setdefault((report.enterprise_id, report.year), []).append(report)

    def apply(self, number, data):
        enterprise = self.enterprise_for(data["uscc"])
        self.once(number, (data["uscc"], data["year"]), "year")
        source, file_name, job_id = self.origin
        values = {name: data[name] for name in _FIGURE_VALUES if name in self.mapping}
        key = (enterprise.id, data["year"])
        existing = self.figures.get(key)
        reports = self.reports.setdefault(key, [])
        if existing is not None:
            changes = _diff(existing, values)
            report = next((r for r in reports if r.source == source), None)
            # unchanged: the source said this already; or, for a plain import, the figures on record are these
            # (an export imported again). Tax or statistics data are recorded even when they agree.
            said = _diff(report, values) if report is not None else (changes or source != FigureSource.IMPORT)
            if not said:
                self.report.unchanged += 1
                return
            registry.save_report(enterprise, existing.year, source, values, actor=self.actor, file_name=file_name,
                                 import_job_id=job_id, reports=reports, figures=existing, staged=self.staged)
            self.note_change(number, f"{data['uscc']} {data['year']}", enterprise.name, changes)
            return
        figures = registry.save_report(enterprise, data["year"], source, values, actor=self.actor,
                                       file_name=file_name, import_job_id=job_id, reports=reports,
                                       staged=self.staged)
        self.figures[key] = figures
        self.report.created += 1

    def write(self):
        try:
            self.staged.write()
        except StaleVersion:
            # a row of the chunk was saved by someone else since it was read: the file is imported whole or not
            raise FileRefused(_l("Someone saved figures of this file's enterprises while it was being imported; "
                                 "nothing was imported. Import the file again.")) from None


class _IPRows(_Rows):
    kind = ImportKind.IP
    filled = ("intellectual_property",)

    def prefetch(self, rows):
        self.enterprises = self.enterprises_by_uscc(rows)
        ids = [e.id for e in self.enterprises.values()]
        self.items = {(i.enterprise_id, i.kind, i.number): i for i in db.session.scalars(
            select(IntellectualProperty).where(IntellectualProperty.enterprise_id.in_(ids)))} if ids else {}

    def apply(self, number, data):
        enterprise = self.enterprise_for(data["uscc"])
        self.once(number, (data["uscc"], data["kind"], data["number"]), "number")
        values = {name: data[name] for name in registry.IP_FIELDS if name in self.mapping}
        existing = self.items.get((enterprise.id, data["kind"], data["number"]))
        for name, default in (("is_valid", True), ("used_in_earlier_application", False)):
            if values.get(name, "absent") is None:
                values[name] = getattr(existing, name) if existing is not None else default
        if existing is not None:
            changes = _diff(existing, values)
            if not changes:
                self.report.unchanged += 1
                return
            full = {name: getattr(existing, name) for name in registry.IP_FIELDS} | values
            registry.save_ip(enterprise, full, actor=self.actor, item=existing)
            self.note_change(number, f"{data['uscc']} {data['number']}", enterprise.name, changes)
            return
        full = {"granted_on": None, "is_valid": True, "used_in_earlier_application": False} | values
        item = registry.save_ip(enterprise, full, actor=self.actor)
        self.items[(enterprise.id, item.kind, item.number)] = item
        self.report.created += 1


class _CertificationRows(_Rows):
    kind = ImportKind.CERTIFICATIONS
    FIELDS = ("tier", "certificate_no", "issued_on", "expires_on", "issuer", "status", "note")

    def prefetch(self, rows):
        self.enterprises = self.enterprises_by_uscc(rows)
        keys = {(r["tier"], r["certificate_no"]) for r in rows}
        self.certs = {(c.tier, c.certificate_no): c for c in db.session.scalars(
            select(Certification).where(tuple_(Certification.tier, Certification.certificate_no).in_(keys)))}

    def apply(self, number, data):
        enterprise = self.enterprise_for(data["uscc"])
        key = (data["tier"], data["certificate_no"])
        self.once(number, key, "certificate_no")
        existing = self.certs.get(key)
        if existing is not None and existing.enterprise_id != enterprise.id:
            raise _Rejected("certificate_no", _l("This certificate number is recorded for another enterprise."))
        values = {name: data[name] for name in self.FIELDS if name in self.mapping}
        for name in ("issuer", "note"):
            if name in values:
                values[name] = values[name] or ""
        if values.get("status", "absent") is None:
            values["status"] = existing.status if existing is not None else CertificationStatus.ACTIVE
        if existing is not None:
            compared = dict(values)
            if "expires_on" in compared and compared["expires_on"] is None:
                compared["expires_on"] = ladder.compute_expiry(compared.get("tier", existing.tier),
                                                               compared.get("issued_on", existing.issued_on))
            changes = _diff(existing, compared)
            if not changes:
                self.report.unchanged += 1
                return
            full = {name: getattr(existing, name) for name in self.FIELDS} | values
            if not existing.expiry_overridden and "expires_on" not in values:
                full["expires_on"] = None  # stays computed (from a changed issue date)
            ladder.update_certification(existing, full, actor=self.actor)
            self.note_change(number, data["certificate_no"], enterprise.name, changes)
            return
        full = {"expires_on": None, "issuer": "", "status": CertificationStatus.ACTIVE, "note": ""} | values
        cert = ladder.record_certification(enterprise, full, actor=self.actor)
        self.certs[key] = cert
        self.report.created += 1


_HANDLERS: dict[str, type[_Rows]] = {
    ImportKind.ENTERPRISES: _EnterpriseRows,
    ImportKind.FIGURES: _FigureRows,
    ImportKind.IP: _IPRows,
    ImportKind.CERTIFICATIONS: _CertificationRows,
}


def _blank(values: tuple) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _trim_session() -> None:
    """Forget the rows written so far (flushed, still in the transaction): 50,000 rows stay small in memory.

    Users, regions and import jobs stay: the actor, the region lookups and the job are used to the end.
    """
    for obj in list(db.session.identity_map.values()):
        if not isinstance(obj, User | Region | ImportJob):
            db.session.expunge(obj)


def _data_rows(table: Table, report: ImportReport, max_rows: int):
    """The table's non-blank rows, counted on the report; FileRefused past `max_rows`."""
    for number, values in table.rows:
        if _blank(values):
            continue
        report.total += 1
        if report.total > max_rows:
            raise FileRefused(_l("The file has more than %(n)s rows; split it into several files.", n=max_rows))
        yield number, values


def import_table(kind: str, table: Table, *, actor, progress: Callable[[int, int | None], None] | None = None,
                 max_rows: int | None = None, figure_source: str | None = None, file_name: str = "",
                 job_id: int | None = None) -> ImportReport:
    """Check every row of `table` and write the accepted ones (flushed and audited, not committed).

    Figures are recorded as `figure_source`'s (import, tax, statistics; default import) with the file's name
    and job, so the enterprise page says where each number came from.

    FileRefused when the file as a whole cannot be imported (a required column missing, too many rows);
    the caller then rolls back, so nothing of it is written.
    """
    if kind not in _HANDLERS:
        raise ValueError(f"unknown import kind {kind!r}")
    max_rows = max_rows or current_app.config.get("IMPORT_MAX_ROWS", MAX_ROWS)
    mapping, ignored = map_columns(kind, table.headers)
    report = ImportReport(kind, ignored_columns=ignored)
    handler = _HANDLERS[kind](actor, mapping, table.headers, report)
    if isinstance(handler, _FigureRows):
        if (figure_source or FigureSource.IMPORT) not in IMPORT_SOURCES:
            raise ValueError(f"unknown figure source {figure_source!r}")
        handler.origin = (figure_source or FigureSource.IMPORT, file_name or "", job_id)
    from crm.ladder.services import ranks_deferred
    from crm.policies.services import matches_deferred

    # the policy matches and candidate ranks of the enterprises written: one batch each at the end
    with matches_deferred(), ranks_deferred():
        chunk: list[tuple[int, tuple]] = []
        for number, values in _data_rows(table, report, max_rows):
            chunk.append((number, values))
            if len(chunk) >= CHUNK:
                handler.run(chunk)
                handler.keep_statistics()
                chunk = []
                _trim_session()
                if progress:
                    progress(report.total, table.total_hint)
        if chunk:
            handler.run(chunk)
        handler.keep_statistics()  # before the re-matching and re-ranking read them back
    if progress:
        progress(report.total, report.total)
    report.rejects.sort(key=lambda r: r["row"])
    return report


@dataclass
class ParsedRows:
    """An upload's rows as checked by parse_table: the accepted ones by field, and the report of the rejected."""

    rows: list[tuple[int, dict]]
    report: ImportReport
    reject: Callable[[int, str, object], None]  # reject(row, field, reason): listed like the file's own rejections

    @property
    def rejects(self) -> list[dict]:
        """Every rejection, {"row", "column", "reason"}, by row."""
        return sorted(self.report.rejects, key=lambda r: r["row"])


def parse_table(kind: str, table: Table, *, max_rows: int | None = None) -> ParsedRows:
    """Check every row of `table` as an import would (header mapping, cells, the row form, a repeated key)
    but look nothing up and write nothing: for a caller that applies the rows itself (the portal's upload).

    The example row is skipped; FileRefused for the file as a whole (a required column missing, too many rows).
    """
    if kind not in _HANDLERS:
        raise ValueError(f"unknown import kind {kind!r}")
    max_rows = max_rows or current_app.config.get("IMPORT_MAX_ROWS", MAX_ROWS)
    mapping, ignored = map_columns(kind, table.headers)
    report = ImportReport(kind, ignored_columns=ignored)
    handler = _HANDLERS[kind](None, mapping, table.headers, report)
    rows = []
    for number, values in _data_rows(table, report, max_rows):
        data = handler.parse(number, values)
        if data is None:
            continue
        try:
            handler.once(number, tuple(data.get(k) for k in KEYS[kind]), KEYS[kind][-1])
        except _Rejected as exc:
            handler.reject(number, exc.field_name, exc.message)
            continue
        rows.append((number, data))
    return ParsedRows(rows, report, handler.reject)


def parse_upload(kind: str, data: bytes, *, max_rows: int | None = None) -> ParsedRows:
    """An uploaded file checked like an import's (check_upload, read_table) and its rows by parse_table,
    synchronously (a small file: the portal's). FileRefused when the file cannot be read."""
    import tempfile

    file_format = check_upload(data)
    with tempfile.TemporaryDirectory(prefix="crm-upload-") as folder:
        path = Path(folder) / f"upload.{file_format}"
        path.write_bytes(data)
        table = read_table(path, kind, file_format)
        try:
            return parse_table(kind, table, max_rows=max_rows)
        finally:
            table.close()


# --- jobs: the upload and its record ----------------------------------------------------------------------

def import_dir() -> Path:
    """Where uploads are kept (IMPORT_DIR, default instance/imports)."""
    configured = current_app.config.get("IMPORT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "imports"


def job_path(job: ImportJob) -> Path:
    """The saved upload of a job."""
    return import_dir() / f"{int(job.id)}.{job.file_format}"


def check_upload(data: bytes) -> str:
    """The format of an upload ('xlsx' or 'csv') from its content; FileRefused when too large or neither."""
    limit = current_app.config.get("IMPORT_MAX_BYTES", MAX_UPLOAD_BYTES)
    if len(data) > limit:
        raise FileRefused(_l("The file is larger than %(mb)s MB; split it into several files.",
                             mb=limit // (1024 * 1024)))
    if not data:
        raise FileRefused(_l("The file is empty."))
    return sniff_format(data[:8192])


def new_job(kind: str, filename: str, data: bytes, *, actor, all_or_nothing: bool = False,
            figure_source: str | None = None) -> ImportJob:
    """Record an upload and save its file (flushed, not committed); FileRefused for a file not worth keeping.
    A figures file has a source (import, tax, statistics; default import)."""
    if kind not in _HANDLERS:
        raise ValueError(f"unknown import kind {kind!r}")
    if kind == ImportKind.FIGURES and (figure_source or FigureSource.IMPORT) not in IMPORT_SOURCES:
        raise ValueError(f"unknown figure source {figure_source!r}")
    file_format = check_upload(data)
    now = utcnow()
    user = actor if isinstance(actor, User) else None
    job = ImportJob(kind=kind, filename=(filename or "upload")[-255:], file_format=file_format, size_bytes=len(data),
                    sha256=hashlib.sha256(data).hexdigest(), created_by_id=user.id if user else None,
                    actor_label=user.username if user else str(actor or "system"), created_at=now, updated_at=now,
                    figure_source=(figure_source or FigureSource.IMPORT) if kind == ImportKind.FIGURES else None,
                    status=ImportStatus.PREVIEWING, all_or_nothing=bool(all_or_nothing), rejects=[], changes=[],
                    ignored_columns=[], error="")
    db.session.add(job)
    db.session.flush()
    path = job_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return job


def record_report(job: ImportJob, report: ImportReport, status: str, *, elapsed_ms: int = 0) -> None:
    """Put a report's counts and rows on the job."""
    job.total_rows, job.created, job.updated = report.total, report.created, report.updated
    job.unchanged, job.rejected = report.unchanged, report.rejected
    job.rejects, job.changes, job.ignored_columns = list(report.rejects), list(report.changes), list(
        report.ignored_columns)
    job.status, job.updated_at, job.elapsed_ms, job.error = status, utcnow(), elapsed_ms, ""
    if status not in (ImportStatus.PREVIEWING, ImportStatus.IMPORTING, ImportStatus.PREVIEWED):
        job.finished_at = utcnow()


def audit_import(job: ImportJob, *, actor) -> None:
    """The trail's record of a finished import (its counts)."""
    audit.record(db.session, "import", job, actor=actor, summary=f"{job.kind}: {job.filename}"[:255],
                 changes={"created": [None, job.created], "updated": [None, job.updated],
                          "unchanged": [None, job.unchanged], "rejected": [None, job.rejected]})


def cancel_job(job: ImportJob, *, actor) -> bool:
    """Discard a previewed job (its file is deleted); False when it is not waiting for confirmation."""
    if job.status != ImportStatus.PREVIEWED:
        return False
    job.status, job.updated_at, job.finished_at = ImportStatus.CANCELLED, utcnow(), utcnow()
    db.session.flush()
    audit.record(db.session, "cancel", job, actor=actor, summary=f"{job.kind}: {job.filename}"[:255],
                 changes={"status": [ImportStatus.PREVIEWED.value, ImportStatus.CANCELLED.value]})
    job_path(job).unlink(missing_ok=True)
    return True
