"""One unit of work per request: run a service, commit, or turn a refusal into form errors.

A uniqueness check in a service can lose a race (an officer taps Save twice on a slow phone):
the database's unique constraint then refuses the second insert. That is the same refusal the
service would have made, so it is shown the same way, next to the field, not as a 500.
"""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from crm.core.validation import ValidationFailed, attach_errors
from crm.extensions import db

# constraint name → (form field, message); features register theirs beside their models.
UNIQUE_FIELDS: dict[str, tuple[str, object]] = {}


def register_unique(constraint: str, field: str, message) -> None:
    """Say which field and message a unique constraint's violation belongs to."""
    UNIQUE_FIELDS[constraint] = (field, message)


def _violated(exc: IntegrityError) -> tuple[str, object] | None:
    """The registered (field, message) of the unique constraint behind `exc`, if any."""
    name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)  # psycopg names it
    if name in UNIQUE_FIELDS:
        return UNIQUE_FIELDS[name]
    # SQLite names the columns, not the constraint: "UNIQUE constraint failed: t.a, t.b".
    text = str(exc.orig)
    if "UNIQUE constraint failed:" in text:
        columns = text.split("UNIQUE constraint failed:", 1)[1].strip()
        for table in db.metadata.tables.values():
            for constraint in table.constraints:
                if constraint.name in UNIQUE_FIELDS and hasattr(constraint, "columns"):
                    described = ", ".join(f"{table.name}.{c.name}" for c in constraint.columns)
                    if described == columns:
                        return UNIQUE_FIELDS[constraint.name]
    return None


class unit_of_work:  # noqa: N801 - used as `with unit_of_work(form) as work:`
    """Commit what the block did; on a refusal roll back and put the errors on `form`.

        with unit_of_work(form) as work:
            services.save_figures(...)
        if work.ok:
            return redirect(...)
    """

    def __init__(self, form):
        self.form = form
        self.ok = False

    def __enter__(self) -> unit_of_work:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            try:
                db.session.commit()
            except IntegrityError as commit_exc:
                return self._refused(commit_exc)
            self.ok = True
            return False
        if issubclass(exc_type, (ValidationFailed, IntegrityError)):
            return self._refused(exc)
        return False

    def _refused(self, exc) -> bool:
        db.session.rollback()
        if isinstance(exc, ValidationFailed):
            attach_errors(self.form, exc)
            return True
        violated = _violated(exc)
        if violated is None:
            raise exc
        attach_errors(self.form, ValidationFailed.one(*violated))
        return True
