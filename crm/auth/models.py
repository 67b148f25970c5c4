"""Users and their roles."""
from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.audit import ENTITY_LABELS
from crm.core.db import Base, TimestampMixin, UTCDateTime, utcnow
from crm.core.policy import REGIONAL_ROLES, ROLE_LABELS, Role
from crm.core.uow import register_unique
from crm.enterprises.models import Enterprise, Region


def new_session_nonce() -> str:
    """A fresh value that invalidates every session issued before it."""
    return secrets.token_hex(8)


class User(UserMixin, TimestampMixin, Base):
    """A person who signs in. Deactivated, never deleted (the audit trail names them)."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("role IN ('admin', 'manager', 'officer', 'enterprise', 'department')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    email: Mapped[str] = mapped_column(sa.String(120), default="")
    phone: Mapped[str] = mapped_column(sa.String(32), default="")
    role: Mapped[str] = mapped_column(sa.String(16), index=True)
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    # a department user's department (协办部门, crm.service.models.Department): they see its referrals only
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    # notifications by e-mail as well as in the inbox (when the server has SMTP settings)
    email_notifications: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Part of the session id: changing it (password change, deactivation) ends all sessions.
    session_nonce: Mapped[str] = mapped_column(sa.String(32), default=new_session_nonce)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    region: Mapped[Region | None] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()
    department = relationship("Department")

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        """Deactivated users cannot sign in."""
        return bool(self.active)

    def get_id(self) -> str:
        """Session identifier: id and nonce, so a nonce change signs the user out everywhere."""
        return f"{self.id}:{self.session_nonce}"

    @property
    def role_label(self):
        """The role's name in the user's language."""
        return ROLE_LABELS[Role(self.role)]

    @property
    def is_regional(self) -> bool:
        """Managers and officers: scoped to a region subtree."""
        return self.role in REGIONAL_ROLES

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


ENTITY_LABELS.update({"users": _l("User")})
register_unique("uq_users_username", "username", _l("This user name is taken."))


class ApiToken(Base):
    """A bearer token for the JSON API. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(8))  # the token's first characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    @property
    def is_revoked(self) -> bool:
        """Revoked tokens authenticate no one."""
        return self.revoked_at is not None

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix} user={self.user_id}>"


ENTITY_LABELS.update({"api_tokens": _l("API token")})


class PasswordLink(Base):
    """A one-time link to set one's password (a new enterprise contact's first, or a reset).

    Only the token's SHA-256 is stored; the link is shown once to whoever issued it. It expires after
    PASSWORD_LINK_DAYS, works once, and a newer link for the same user retires the older ones.
    """

    __tablename__ = "password_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def is_live(self, now: datetime) -> bool:
        """Unused, not replaced by a newer link, and not expired."""
        return self.used_at is None and self.retired_at is None and now < self.expires_at


ENTITY_LABELS.update({"password_links": _l("Set-password link")})


class LoginAttempt(Base):
    """One try to sign in (the sign-in throttle counts these; admins see the failures).

    Keyed by the user name as typed (lower-cased), never by a user id: a name that does not exist
    is counted and locked exactly like one that does, so the throttle reveals nothing about accounts.
    `locked` marks a try refused unchecked while the account or address was locked: it is kept for
    the record but not counted, so waiting out a lock is enough to end it.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (
        sa.Index("ix_login_attempts_username_at", "username", "at"),
        sa.Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64))
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    success: Mapped[bool] = mapped_column(default=False)
    locked: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<LoginAttempt {self.username} {self.ip} {'ok' if self.success else 'failed'}>"
