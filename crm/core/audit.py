"""The audit trail: who changed what, when, from where (old → new)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.db import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    """One recorded action. No foreign keys: the trail outlives whatever it describes."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(sa.String(120))
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    action: Mapped[str] = mapped_column(sa.String(40))
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[int | None]
    enterprise_id: Mapped[int | None] = mapped_column(index=True)
    summary: Mapped[str] = mapped_column(sa.String(255), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


ACTION_LABELS = {
    "create": _l("Created"), "update": _l("Changed"), "delete": _l("Removed"), "archive": _l("Archived"),
    "restore": _l("Restored"), "verify": _l("Verified"), "login": _l("Signed in"), "logout": _l("Signed out"),
    "password_change": _l("Changed password"), "demo_load": _l("Loaded demo data"), "revoke": _l("Revoked"),
    "status": _l("Changed status"), "complete": _l("Done"),
}
# Features add the names of the records they audit (core never imports a feature).
ENTITY_LABELS: dict[str, Any] = {}


# The names of recorded fields in words, per entity type: {"enterprises": {"name": _l("Enterprise name"), …}}.
# Features register them (most from their forms' labels: register_field_labels); unknown fields show their code.
FIELD_LABELS: dict[str, dict[str, Any]] = {}


def register_field_labels(entity_type: str, *forms: type, **labels: Any) -> None:
    """Name the fields of `entity_type` in the trail: the labels of the forms' fields (by field name, the
    same as the column's), then `labels` for the rest."""
    from wtforms.fields.core import UnboundField

    target = FIELD_LABELS.setdefault(entity_type, {})
    for form in forms:
        for name in dir(form):
            field = getattr(form, name, None)
            if isinstance(field, UnboundField):
                label = field.args[0] if field.args else field.kwargs.get("label")
                if label is not None and not isinstance(label, (list, tuple, dict)):
                    target.setdefault(name, label)
    target.update(labels)


def field_label(entity_type: str, field: str):
    """A recorded field's name in the user's language, or its code when none is registered."""
    return FIELD_LABELS.get(entity_type, {}).get(field, field)


def action_label(action: str):
    """The action in the user's language (unknown codes are shown as they are)."""
    return ACTION_LABELS.get(action, action)


def entity_label(entity_type: str):
    """The kind of record in the user's language (unknown types are shown as they are)."""
    return ENTITY_LABELS.get(entity_type, entity_type)


def _plain(value: Any) -> Any:
    """A JSON-safe rendering of a column value (Decimal and dates as text)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def apply_changes(obj: Any, data: dict[str, Any]) -> dict[str, list[Any]]:
    """Set each attribute of `obj` that differs from `data`; return {field: [old, new]}."""
    changes: dict[str, list[Any]] = {}
    for field, new in data.items():
        old = getattr(obj, field)
        if old != new:
            changes[field] = [_plain(old), _plain(new)]
            setattr(obj, field, new)
    return changes


def snapshot(obj: Any, fields: list[str]) -> dict[str, list[Any]]:
    """The fields of a new or removed record as {field: [None, value]} for the trail."""
    return {f: [None, _plain(getattr(obj, f))] for f in fields if getattr(obj, f) is not None}


def snapshot_values(values: dict[str, Any], fields) -> dict[str, list[Any]]:
    """snapshot() of a record written from `values` (a bulk insert) rather than held as an object."""
    return {f: [None, _plain(values[f])] for f in fields if values.get(f) is not None}


def diff(obj: Any, data: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} of each attribute of `obj` that differs from `data`, as apply_changes records them, without
    setting anything (a bulk write sets the rows itself)."""
    changes: dict[str, list[Any]] = {}
    for field, new in data.items():
        old = getattr(obj, field)
        if old != new:
            changes[field] = [_plain(old), _plain(new)]
    return changes


def client_ip() -> str | None:
    """The request's client address (ProxyFix, when configured, has set remote_addr)."""
    return request.remote_addr if has_request_context() else None


def event_values(
    action: str,
    entity_type: str,
    entity_id: int | None,
    *,
    actor: Any,
    changes: dict[str, list[Any]] | None = None,
    enterprise_id: int | None = None,
    summary: str = "",
    ip: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The columns of one audit event (record() adds it as an object, record_many() inserts many at once)."""
    return {
        "actor_id": getattr(actor, "id", None),
        "actor_label": getattr(actor, "username", None) or str(actor or "system"),
        "ip": ip,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "enterprise_id": enterprise_id,
        "summary": summary[:255],
        "changes": changes or {},
        "at": at or utcnow(),
    }


def record(
    session,
    action: str,
    entity: Any,
    *,
    actor: Any,
    changes: dict[str, list[Any]] | None = None,
    enterprise_id: int | None = None,
    summary: str = "",
) -> AuditEvent:
    """Add an audit event for `entity` to `session` (the caller's unit of work commits it)."""
    event = AuditEvent(**event_values(
        action, getattr(entity, "__tablename__", type(entity).__name__), getattr(entity, "id", None), actor=actor,
        changes=changes, enterprise_id=enterprise_id, summary=summary, ip=client_ip()))
    session.add(event)
    return event


def record_many(session, events: list[dict[str, Any]]) -> None:
    """Insert many audit events at once (one INSERT … executemany), each built by event_values(): the trail of a
    bulk write (an import), the same rows record() would have added one by one, in the caller's transaction."""
    if events:
        session.execute(sa.insert(AuditEvent.__table__), events)
