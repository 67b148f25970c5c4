"""Writes of the credit screening: import a negative list, lift an entry. Validate, flush, audit; callers commit.

Importing a list (all or nothing: any rejected row and nothing is written) stores the list and its entries,
matches them to the registry by USCC (rows of enterprises not in the registry are kept, unmatched, and counted),
with `replaces_previous` lifts the entries of the earlier list of the same kind and issuing body that are no
longer on it, then brings the clean-record flag of every enterprise touched in step with its active entries
(`_sync_clean_record`: on a list → False with the list as source and the listing date; off every list → the
officer's own answer back), re-matches their policies (crm.policies, the hook the ladder's writes use), and tells
each one's officer once (crm.notify, a dedupe key per enterprise, officer, kind of list and listing date).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core import audit, clock
from crm.core.validation import ValidationFailed
from crm.credit import queries
from crm.credit.documents import read_list
from crm.credit.models import CREDIT_LIST_KIND_LABELS, CREDIT_LIST_KIND_NAMES, CreditList, CreditListEntry
from crm.enterprises.models import Enterprise
from crm.extensions import db

_ID_CHUNK = 900
LIST_FIELDS = ["kind", "source", "received_on", "filename", "note", "replaces_previous"]


@dataclass
class ListImport:
    """What an import did (or, refused, why not): the rejected rows, the counts, the list written."""

    rejected: list[tuple[int, str]] = field(default_factory=list)
    rows: int = 0
    matched: int = 0
    unmatched: int = 0
    lifted: int = 0
    notified: int = 0
    skipped_example: int = 0
    credit_list: CreditList | None = None


def _clean(meta: dict) -> dict:
    values = {"kind": meta.get("kind"), "source": (meta.get("source") or "").strip(),
              "received_on": meta.get("received_on"), "note": (meta.get("note") or "").strip(),
              "filename": (meta.get("filename") or "").strip()[-255:],
              "replaces_previous": bool(meta.get("replaces_previous"))}
    errors: dict[str, list] = {}
    if values["kind"] not in CREDIT_LIST_KIND_LABELS:
        errors["kind"] = [_l("Choose the kind of list.")]
    if not values["source"]:
        errors["source"] = [_l("This field is required.")]
    elif len(values["source"]) > 160:
        errors["source"] = [_l("At most %(max)d characters.", max=160)]
    if len(values["note"]) > 255:
        errors["note"] = [_l("At most %(max)d characters.", max=255)]
    if values["received_on"] is None:
        errors["received_on"] = [_l("This field is required.")]
    elif values["received_on"] > clock.today():
        errors["received_on"] = [_l("This date lies in the future.")]
    if errors:
        raise ValidationFailed(errors)
    return values


def source_text(credit_list: CreditList) -> str:
    """The clean record's source as stored: the list's name, its issuer, the import (data, in Chinese)."""
    return f"{CREDIT_LIST_KIND_NAMES.get(credit_list.kind, credit_list.kind)} · {credit_list.source} · #{credit_list.id}"[:255]


def import_list(data: bytes, meta: dict, *, actor) -> ListImport:
    """Import a negative list file with its metadata (kind, source, received_on, filename, note, replaces_previous).

    All or nothing: when any row is rejected the report lists each (sheet row, reason) and nothing is written.
    FileRefused when the file cannot be read; ValidationFailed when the metadata is wrong."""
    values = _clean(meta)
    parsed = read_list(data)
    report = ListImport(rejected=list(parsed.rejected), skipped_example=parsed.skipped_example)
    for number, row in parsed.rows:
        if row["listed_on"] is not None and row["listed_on"] > values["received_on"]:
            report.rejected.append((number, str(_l("Listed after the list was received (%(day)s).",
                                                   day=values["received_on"].isoformat()))))
    if report.rejected:
        report.rejected.sort()
        return report
    if not parsed.rows:
        raise ValidationFailed.one("file", _l("The list holds no rows."))
    codes = [row["uscc"] for _n, row in parsed.rows]
    enterprises: dict[str, Enterprise] = {}
    for start in range(0, len(codes), _ID_CHUNK):
        enterprises.update({e.uscc: e for e in db.session.scalars(
            select(Enterprise).where(Enterprise.uscc.in_(codes[start:start + _ID_CHUNK])))})
    credit_list = CreditList(**values, imported_by_id=getattr(actor, "id", None))
    db.session.add(credit_list)
    db.session.flush()
    touched: set[int] = set()
    new_entries = []
    for _number, row in parsed.rows:
        enterprise = enterprises.get(row["uscc"])
        entry = CreditListEntry(list_id=credit_list.id, uscc=row["uscc"], name=row["name"][:200],
                                listed_on=row["listed_on"] or values["received_on"], reason=row["reason"][:500],
                                enterprise_id=enterprise.id if enterprise else None, removed_note="")
        new_entries.append(entry)
        if enterprise is not None:
            touched.add(enterprise.id)
            report.matched += 1
        else:
            report.unmatched += 1
    db.session.add_all(new_entries)
    report.rows = len(new_entries)
    if values["replaces_previous"]:
        for entry in queries.previous_active_entries(values["kind"], values["source"], credit_list.id):
            # an enterprise still on the new list keeps being listed: its new entry takes over, without a gap
            entry.removed_on = max(values["received_on"], entry.listed_on)
            entry.removed_by_id = getattr(actor, "id", None)
            entry.removed_note = f"replaced by list #{credit_list.id}"
            report.lifted += 1
            if entry.enterprise_id is not None:
                touched.add(entry.enterprise_id)
    credit_list.rows_total, credit_list.matched = report.rows, report.matched
    credit_list.unmatched, credit_list.lifted = report.unmatched, report.lifted
    db.session.flush()
    audit.record(db.session, "create", credit_list, actor=actor,
                 summary=f"{CREDIT_LIST_KIND_NAMES[values['kind']]} · {values['source']}",
                 changes={**audit.snapshot(credit_list, LIST_FIELDS),
                          "rows": [None, report.rows], "matched": [None, report.matched],
                          "unmatched": [None, report.unmatched], "lifted": [None, report.lifted]})
    _sync_clean_record(touched, actor=actor)
    report.notified = _tell_officers([e for e in new_entries if e.enterprise_id is not None], credit_list)
    _rematch(touched)
    report.credit_list = credit_list
    return report


def lift_entry(entry: CreditListEntry, *, actor, on: date | None = None, note: str = "") -> bool:
    """Take an entry off its list from `on` (today by default); the flag comes back when no other entry remains.
    False when it was lifted already."""
    if entry.removed_on is not None:
        return False
    on = on or clock.today()
    if on < entry.listed_on:
        raise ValidationFailed.one("removed_on", _l("An entry cannot be lifted before it was listed (%(day)s).",
                                                    day=entry.listed_on.isoformat()))
    if on > clock.today():
        raise ValidationFailed.one("removed_on", _l("This date lies in the future."))
    note = (note or "").strip()
    if len(note) > 255:
        raise ValidationFailed.one("removed_note", _l("At most %(max)d characters.", max=255))
    changes = audit.apply_changes(entry, {"removed_on": on, "removed_note": note})
    entry.removed_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(db.session, "update", entry, actor=actor, enterprise_id=entry.enterprise_id, changes=changes,
                 summary=f"{entry.name or entry.uscc} · {CREDIT_LIST_KIND_NAMES.get(entry.credit_list.kind, '')}")
    if entry.enterprise_id is not None:
        _sync_clean_record({entry.enterprise_id}, actor=actor)
        _rematch({entry.enterprise_id})
    return True


def _sync_clean_record(enterprise_ids, *, actor) -> None:
    """Bring each enterprise's clean-record flag in step with its active entries (audited per enterprise)."""
    from crm.ladder.models import ReadinessInputs

    ids = sorted(enterprise_ids)
    if not ids:
        return
    db.session.flush()
    active = queries.blocking_entries(ids)
    inputs = {}
    for start in range(0, len(ids), _ID_CHUNK):
        inputs.update({i.enterprise_id: i for i in db.session.scalars(select(ReadinessInputs).where(
            ReadinessInputs.enterprise_id.in_(ids[start:start + _ID_CHUNK])))})
    names = {}
    for start in range(0, len(ids), _ID_CHUNK):
        names.update(dict(db.session.execute(select(Enterprise.id, Enterprise.name).where(
            Enterprise.id.in_(ids[start:start + _ID_CHUNK]))).all()))
    for enterprise_id in ids:
        row = inputs.get(enterprise_id)
        entries = active.get(enterprise_id)
        if entries:
            first = entries[0]
            if row is None:
                row = ReadinessInputs(enterprise_id=enterprise_id, clean_record_source="")
                db.session.add(row)
            values = {"clean_record": False, "clean_record_source": source_text(first.credit_list),
                      "clean_record_on": first.listed_on}
            if not row.clean_record_source:  # first listed now: keep the officer's answer to restore later
                values["clean_record_before_list"] = row.clean_record
        elif row is not None and row.clean_record_source:
            values = {"clean_record": row.clean_record_before_list, "clean_record_source": "",
                      "clean_record_on": None, "clean_record_before_list": None}
        else:
            continue
        changes = audit.apply_changes(row, values)
        if changes:
            row.updated_by_id = getattr(actor, "id", None)
            db.session.flush()
            audit.record(db.session, "update", row, actor=actor, enterprise_id=enterprise_id, changes=changes,
                         summary=names.get(enterprise_id, ""))


def _tell_officers(entries: list[CreditListEntry], credit_list: CreditList) -> int:
    """One notification per matched enterprise to its current officer (once per enterprise, officer, kind, date)."""
    from crm.notify.services import notify, path_for
    from crm.service.models import Assignment

    ids = sorted({e.enterprise_id for e in entries})
    officers = {}
    for start in range(0, len(ids), _ID_CHUNK):
        for assignment in db.session.scalars(select(Assignment).where(
                Assignment.enterprise_id.in_(ids[start:start + _ID_CHUNK]), Assignment.ends_on.is_(None))):
            officers[assignment.enterprise_id] = assignment.officer
    told = 0
    for entry in entries:
        officer = officers.get(entry.enterprise_id)
        if officer is None:
            continue
        params = {"enterprise": entry.enterprise.name if entry.enterprise else entry.name,
                  "credit_list": credit_list.kind, "source": credit_list.source,
                  "listed_on": entry.listed_on.isoformat()}
        key = f"credit_listed:{credit_list.kind}:{entry.enterprise_id}:{officer.id}:{entry.listed_on.isoformat()}"
        if notify(officer, "credit_listed", params, dedupe_key=key,
                  link=path_for("enterprises.detail", enterprise_id=entry.enterprise_id)) is not None:
            told += 1
    return told


def _rematch(enterprise_ids) -> None:
    """Re-match the enterprises' policies and re-rank them (their clean record changed); imported here, as the
    ladder does."""
    if enterprise_ids:
        from crm.ladder.services import rerank_enterprises
        from crm.policies.services import rematch_enterprises

        rematch_enterprises(sorted(enterprise_ids))
        rerank_enterprises(sorted(enterprise_ids))
