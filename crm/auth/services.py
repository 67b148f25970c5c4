"""Writes on users: validate, flush, audit — the caller commits."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.auth.models import ApiToken, LoginAttempt, PasswordLink, User, new_session_nonce
from crm.core import audit
from crm.core.db import utcnow
from crm.core.i18n import LANGUAGES
from crm.core.policy import REGIONAL_ROLES, Role
from crm.core.security import hash_password, password_problems, verify_password
from crm.core.uscc import normalize_uscc
from crm.core.validation import ValidationFailed
from crm.enterprises.models import Enterprise, Region
from crm.extensions import db

USER_FIELDS = ["username", "name", "email", "phone", "role", "region_id", "enterprise_id", "department_id", "active"]


def authenticate(username: str, password: str) -> User | None:
    """The active user with this name and password, else None (one answer for every failure)."""
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        # Hash anyway so a wrong user name takes as long as a wrong password.
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    return user


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    from flask import current_app

    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY:
        _DUMMY[method] = hash_password("not-a-real-password-0")
    return _DUMMY[method]


def record_login(user: User) -> None:
    """Note a successful sign-in in the user row and the audit trail."""
    user.last_login_at = utcnow()
    audit.record(db.session, "login", user, actor=user)


# --- the sign-in throttle ----------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to: the user (None on any failure) and whether it was refused as locked."""

    user: User | None
    locked: bool = False


def _attempt_name(username: str) -> str:
    return (username or "").strip().lower()[:64]


def sign_in_locked(username: str, ip: str, now: datetime | None = None) -> bool:
    """Whether sign-in is refused for this user name (LOGIN_MAX_FAILURES failures within LOGIN_LOCK_MINUTES since
    its last success) or from this address (LOGIN_IP_MAX_FAILURES failures within LOGIN_IP_WINDOW_MINUTES, any
    user names). The same answer whether or not the user name exists. A limit of 0 turns that check off.
    """
    from flask import current_app

    config = current_app.config
    now = now or utcnow()
    counted = (LoginAttempt.success.is_(False), LoginAttempt.locked.is_(False))
    max_failures = config["LOGIN_MAX_FAILURES"]
    name = _attempt_name(username)
    if max_failures > 0:
        since = now - timedelta(minutes=config["LOGIN_LOCK_MINUTES"])
        last_success = db.session.scalar(select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == name, LoginAttempt.success.is_(True), LoginAttempt.at > since))
        failures = db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == name, LoginAttempt.at > (last_success or since), *counted))
        if failures >= max_failures:
            return True
    ip_max = config["LOGIN_IP_MAX_FAILURES"]
    if ip_max > 0 and ip:
        since = now - timedelta(minutes=config["LOGIN_IP_WINDOW_MINUTES"])
        failures = db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.ip == ip, LoginAttempt.at > since, *counted))
        if failures >= ip_max:
            return True
    return False


def attempt_sign_in(username: str, password: str, *, ip: str | None) -> SignIn:
    """Check a sign-in through the throttle and record the attempt (flushed; the caller commits).

    While the user name or the address is locked the password is not even checked. A success resets the
    user name's count (failures before it no longer count); an address's count only ages out.
    """
    now = utcnow()
    ip = (ip or "")[:45]
    name = _attempt_name(username)
    if sign_in_locked(name, ip, now):
        db.session.add(LoginAttempt(username=name, ip=ip, at=now, success=False, locked=True))
        db.session.flush()
        return SignIn(None, locked=True)
    user = authenticate(username, password)
    db.session.add(LoginAttempt(username=name, ip=ip, at=now, success=user is not None, locked=False))
    db.session.flush()
    if user is not None:
        record_login(user)
    return SignIn(user)




def sign_out(user: User) -> None:
    """End every session of `user`, on every device: the session nonce changes, so any copy of a session
    cookie issued before (this browser's or a stolen one) is refused from now on."""
    user.session_nonce = new_session_nonce()
    db.session.flush()
    audit.record(db.session, "logout", user, actor=user)


def _resolve(data: dict, user: User | None) -> dict:
    """Check the role's binding (region or enterprise) and turn the USCC into an id."""
    errors: dict[str, list] = {}
    role = data["role"]
    if role not in {r.value for r in Role}:
        errors["role"] = [_l("Unknown role.")]
    uscc = normalize_uscc(data.pop("enterprise_uscc", "") or "")
    data["enterprise_id"] = None
    department_id = data.pop("department_id", None)
    data["department_id"] = None
    if role == Role.DEPARTMENT:  # bound to a department only (it sees that department's referrals)
        from crm.service.models import Department

        department = db.session.get(Department, department_id) if department_id else None
        if department is None or not department.active:
            errors["department_id"] = [_l("A department user must belong to a department in use.")]
        else:
            data["department_id"] = department.id
        data["region_id"] = None
    if role == Role.DEPARTMENT:
        pass
    elif role == Role.ENTERPRISE:
        if not uscc:
            errors["enterprise_uscc"] = [_l("An enterprise user must belong to an enterprise.")]
        else:
            enterprise = db.session.scalar(select(Enterprise).where(Enterprise.uscc == uscc))
            if enterprise is None:
                errors["enterprise_uscc"] = [_l("No enterprise has this unified social credit code.")]
            else:
                data["enterprise_id"] = enterprise.id
        data["region_id"] = None
    elif role not in REGIONAL_ROLES:  # an administrator is bound to nothing
        data["region_id"] = None
    else:
        if not data.get("region_id"):
            errors["region_id"] = [_l("Managers and officers must belong to a region.")]
        elif db.session.get(Region, data["region_id"]) is None:
            errors["region_id"] = [_l("Unknown region.")]
    username = data["username"] = (data.get("username") or "").strip()
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", username):
        errors["username"] = [_l("Letters, digits and _ . @ - only.")]
    if not (data.get("name") or "").strip() or len(data["name"]) > 60:
        errors["name"] = [_l("This field is required.")] if not (data.get("name") or "").strip() else [
            _l("At most %(max)d characters.", max=60)]
    clash = select(User.id).where(func.lower(User.username) == username.lower())
    if user is not None:
        clash = clash.where(User.id != user.id)
    if db.session.scalar(clash) is not None:
        errors["username"] = [_l("This user name is taken.")]
    password = data.pop("password", "") or ""
    if user is None and not password:
        errors["password"] = [_l("Set a first password for the new user.")]
    if password:
        problems = password_problems(password, username=username)
        if problems:
            errors["password"] = problems
    if errors:
        raise ValidationFailed(errors)
    data["_password"] = password
    return data


def create_user(data: dict, *, actor) -> User:
    """Create a user from form data (role binding checked, password hashed)."""
    data = _resolve(dict(data), None)
    password = data.pop("_password")
    user = User(**data, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    audit.record(db.session, "create", user, actor=actor, changes=audit.snapshot(user, USER_FIELDS),
                 summary=user.username)
    return user


def update_user(user: User, data: dict, *, actor) -> dict:
    """Edit a user; a new password or deactivation ends the user's sessions."""
    data = _resolve(dict(data), user)
    password = data.pop("_password")
    changes = audit.apply_changes(user, data)
    if password:
        user.password_hash = hash_password(password)
        changes["password"] = ["***", "***"]
    if password or "active" in changes:
        user.session_nonce = new_session_nonce()
    if changes:
        db.session.flush()
        audit.record(db.session, "update", user, actor=actor, changes=changes, summary=user.username)
    return changes


def change_own_password(user: User, current: str, new: str) -> None:
    """Change one's password after checking the current one; other sessions end."""
    if not verify_password(user.password_hash, current):
        raise ValidationFailed.one("current_password", _l("The current password is not correct."))
    problems = password_problems(new, username=user.username)
    if problems:
        raise ValidationFailed({"new_password": problems})
    user.password_hash = hash_password(new)
    user.session_nonce = new_session_nonce()
    db.session.flush()
    audit.record(db.session, "password_change", user, actor=user, summary=user.username)


def set_language(user: User, lang: str) -> None:
    """Remember the user's interface language (audited when it changes)."""
    if lang not in LANGUAGES:
        raise ValidationFailed.one("lang", _l("Unknown language."))
    changes = audit.apply_changes(user, {"locale": lang})
    if changes:
        db.session.flush()
        audit.record(db.session, "update", user, actor=user, changes=changes, summary=user.username)


TOKEN_PREFIX = "mp_"  # noqa: S105 - the public prefix of every API token, not a secret
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)  # last_used_at is written at most this often


def hash_token(plaintext: str) -> str:
    """The SHA-256 (hex) under which a token is stored and looked up."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_api_token(user: User, name: str, *, actor) -> tuple[ApiToken, str]:
    """A new API token for `user`: the row (hash and prefix only) and the token, to show once."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationFailed.one("name", _l("This field is required.") if not name
                                   else _l("At most %(max)d characters.", max=80))
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(plaintext), prefix=plaintext[:8],
                     created_at=utcnow())
    db.session.add(token)
    db.session.flush()
    audit.record(db.session, "create", token, actor=actor, summary=f"{user.username}: {name} ({token.prefix}…)",
                 changes={"user": [None, user.username], "name": [None, name], "prefix": [None, token.prefix]})
    return token, plaintext


def revoke_api_token(token: ApiToken, *, actor) -> bool:
    """Revoke a token (idempotent: False when it already was)."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    db.session.flush()
    audit.record(db.session, "revoke", token, actor=actor, summary=f"{token.user.username}: {token.name} "
                 f"({token.prefix}…)", changes={"revoked_at": [None, token.revoked_at.isoformat()]})
    return True


def user_for_token(plaintext: str) -> User | None:
    """The active user of a live token, else None; notes the use (at most once a minute).

    Lookup is by the token's SHA-256, so no comparison of secret text ever happens in Python
    (no timing leak). The caller commits the last_used_at it may have set.
    """
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_INTERVAL:
        token.last_used_at = now  # the caller (the request loader) commits it
    return token.user


# --- one-time set-password links ---------------------------------------------------------------


def issue_password_link(user: User, *, actor) -> tuple[PasswordLink, str]:
    """A new one-time link for `user` to set a password: the row (hash only) and the token, to show once.

    Earlier live links of the user are retired: only the newest one works. The link lives
    PASSWORD_LINK_DAYS days (7 unless configured).
    """
    from flask import current_app

    now = utcnow()
    for old in db.session.scalars(select(PasswordLink).where(
            PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None), PasswordLink.retired_at.is_(None))):
        old.retired_at = now
    plaintext = secrets.token_urlsafe(32)
    link = PasswordLink(user_id=user.id, token_hash=hash_token(plaintext), created_by_id=getattr(actor, "id", None),
                        created_at=now, expires_at=now + timedelta(days=current_app.config["PASSWORD_LINK_DAYS"]))
    db.session.add(link)
    db.session.flush()
    audit.record(db.session, "create", link, actor=actor, enterprise_id=user.enterprise_id, summary=user.username,
                 changes={"user": [None, user.username], "expires_at": [None, link.expires_at.isoformat()]})
    return link, plaintext


def live_password_link(plaintext: str) -> PasswordLink | None:
    """The live link of a token (unused, newest, not expired, its user active), else None."""
    if not plaintext or len(plaintext) > 100:
        return None
    link = db.session.scalar(select(PasswordLink).where(PasswordLink.token_hash == hash_token(plaintext)))
    if link is None or not link.is_live(utcnow()) or not link.user.is_active:
        return None
    return link


def set_password_by_link(plaintext: str, password: str) -> User:
    """Set the password of the link's user and use the link up; every earlier session of the user ends."""
    link = live_password_link(plaintext)
    if link is None:
        raise ValidationFailed.one("", _l("This link is not valid any more: it was used, replaced by a newer "
                                          "one or has expired. Ask your service officer for a new link."))
    user = link.user
    problems = password_problems(password, username=user.username)
    if problems:
        raise ValidationFailed({"new_password": problems})
    user.password_hash = hash_password(password)
    user.session_nonce = new_session_nonce()
    link.used_at = utcnow()
    db.session.flush()
    audit.record(db.session, "password_change", user, actor=user, enterprise_id=user.enterprise_id,
                 summary=user.username)
    return user
