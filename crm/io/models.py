"""Import jobs: an uploaded file, its preview, its import and what became of every row."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.audit import ACTION_LABELS, ENTITY_LABELS
from crm.core.db import Base, UTCDateTime, utcnow


class ImportKind(StrEnum):
    """What a file holds; each kind has its template, its upsert key and its service."""

    ENTERPRISES = "enterprises"
    FIGURES = "figures"
    IP = "ip"
    CERTIFICATIONS = "certifications"


IMPORT_KIND_LABELS = {
    ImportKind.ENTERPRISES: _l("Enterprises"),
    ImportKind.FIGURES: _l("Annual figures"),
    ImportKind.IP: _l("Intellectual property"),
    ImportKind.CERTIFICATIONS: _l("Certifications"),
}


class ImportStatus(StrEnum):
    """Where a job stands: previewed (nothing written) → importing → done; or refused, failed, cancelled."""

    PREVIEWING = "previewing"
    PREVIEWED = "previewed"
    IMPORTING = "importing"
    DONE = "done"  # the accepted rows are written
    REFUSED = "refused"  # all or nothing, and some row was rejected: nothing written
    FAILED = "failed"  # the file could not be read, or the job stopped: nothing written
    CANCELLED = "cancelled"  # discarded after the preview


IMPORT_STATUS_LABELS = {
    ImportStatus.PREVIEWING: _l("Checking the file"),
    ImportStatus.PREVIEWED: _l("Checked, waiting for confirmation"),
    ImportStatus.IMPORTING: _l("Importing"),
    ImportStatus.DONE: _l("Imported"),
    ImportStatus.REFUSED: _l("Nothing imported (all or nothing)"),
    ImportStatus.FAILED: _l("Failed"),
    ImportStatus.CANCELLED: _l("Cancelled"),
}
RUNNING_STATUSES = frozenset({ImportStatus.PREVIEWING, ImportStatus.IMPORTING})


def _check_in(column: str, enum) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in enum)})"


class ImportJob(Base):
    """One uploaded file and what was done with it: the preview's and the import's counts, the rejected rows.

    The file itself is kept under instance/imports/<id>.<format> while the job may still be confirmed
    (and for the rejected rows' download); the row outlives it as the import history.
    """

    __tablename__ = "import_jobs"
    __table_args__ = (
        sa.CheckConstraint(_check_in("kind", ImportKind), name="kind_known"),
        sa.CheckConstraint(_check_in("status", ImportStatus), name="status_known"),
        sa.CheckConstraint("file_format IN ('xlsx', 'csv')", name="format_known"),
        sa.Index("ix_import_jobs_created_by_created", "created_by_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    filename: Mapped[str] = mapped_column(sa.String(255))
    # a figures file's source (import, tax, statistics: crm.enterprises' FigureSource); None for other kinds
    figure_source: Mapped[str | None] = mapped_column(sa.String(16))
    file_format: Mapped[str] = mapped_column(sa.String(8))
    size_bytes: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(sa.String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(sa.String(16), default=ImportStatus.PREVIEWING)
    all_or_nothing: Mapped[bool] = mapped_column(default=False)
    total_rows: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    # [{"row": 17, "column": "统一社会信用代码", "reason": "…"}] — every rejected row's reasons
    rejects: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    # [{"row": 5, "key": "9164…", "changes": {"column": [old, new]}}] — the first CHANGES_KEPT updated rows
    changes: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    # headers of the file that no column of the kind matched (shown, never imported)
    ignored_columns: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    elapsed_ms: Mapped[int] = mapped_column(default=0)

    created_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self):
        """The kind in the user's language."""
        return IMPORT_KIND_LABELS.get(self.kind, self.kind)

    @property
    def status_label(self):
        """The status in the user's language."""
        return IMPORT_STATUS_LABELS.get(self.status, self.status)

    @property
    def is_running(self) -> bool:
        """Being checked or imported now."""
        return self.status in RUNNING_STATUSES


ENTITY_LABELS.update({"import_jobs": _l("Import")})
ACTION_LABELS.setdefault("import", _l("Imported"))
ACTION_LABELS.setdefault("cancel", _l("Cancelled"))
