"""Declarative base with a constraint naming convention, and column types used everywhere."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _sqlite_from_hint(compiler, table, text):
    return text


# `select.with_hint(Model, "INDEXED BY ix_…", dialect_name="sqlite")` renders on SQLite, whose compiler leaves
# table hints out: where its planner picks the wrong index for an ORDER BY … LIMIT (crm.service.queries.needs_query)
SQLiteCompiler.get_from_hint_text = _sqlite_from_hint


def utcnow() -> datetime:
    """Current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


# Amounts in 万元: up to 999,999,999,999.99 万元 with two decimals, exact.
Money = sa.Numeric(14, 2, asdecimal=True)
ZERO = Decimal("0")


class Base(DeclarativeBase):
    """Base of every model: shared metadata with the naming convention."""

    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), Decimal: Money},
    )


class TimestampMixin:
    """created_at / updated_at maintained by the ORM."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


def upsert(session, table, rows: list[dict], keys: tuple[str, ...]) -> None:
    """Insert `rows` into `table`, updating the row already there for the same unique `keys` (derived data)."""
    # An upsert, not a plain insert: a page filling a missing row and a scheduled job may write the same key at
    # once; the second then updates the row instead of failing on the unique key.
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        session.execute(sa.insert(table), rows)
        return
    stmt = dialect_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: stmt.excluded[c] for c in rows[0] if c not in keys})
    session.execute(stmt, rows)
