"""Optimistic versions: a save based on an older version of a record is refused, never a lost update.

A versioned model maps `version` as SQLAlchemy's `version_id_col`, so every UPDATE says
`WHERE id = ? AND version = ?` and bumps it. The edit forms carry the version they were opened at
(a hidden field); a save whose version is not the record's current one is refused with
`StaleVersion` before anything changes, and a save that loses the race between that check and
the UPDATE (StaleDataError at flush) is refused the same way. Views answer 409.
"""
from __future__ import annotations

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from crm.core.validation import ValidationFailed
from crm.extensions import db


class StaleVersion(ValidationFailed):
    """A change based on an older version of the record (shown on the form; the view answers 409)."""

    stale = True


def stale_message(record):
    """What the officer reads: someone saved in between, when, and what to do."""
    when = getattr(record, "updated_at", None)
    when = format_datetime(when, "yyyy-MM-dd HH:mm") if when is not None else "—"
    return _l("Someone else saved this record at %(when)s after you opened it, so your change was not saved. "
              "Reload the page to see their change, then make yours again.", when=when)


def check_version(record, version) -> None:
    """Refuse (StaleVersion) when `version` (from the form; None = not given) is not the record's current one."""
    if version is None or version == "":
        return
    if str(version).strip() != str(record.version):
        raise StaleVersion.one("", stale_message(record))


def flush_versioned(record) -> None:
    """Flush; a concurrent save that won the race (version mismatch at UPDATE) becomes StaleVersion."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        fresh = db.session.get(type(record), record.id)
        raise StaleVersion.one("", stale_message(fresh)) from None
