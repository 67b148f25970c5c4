"""Demo accounts: an administrator, managers and officers bound to regions, one enterprise user.

All share one password (printed by `demo load`, written in the README). Accounts that exist
already are left as they are, so a password changed after the first load stays changed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from crm.auth.models import User
from crm.core.policy import Role
from crm.core.security import hash_password
from crm.demo.registry import EnterpriseSpec, Tally
from crm.enterprises.models import Region

DEMO_PASSWORD = "miaopu2026"
ENTERPRISE_USERNAME = "enterprise"
# The accounts the README and the login page's demo hint name, in the order they are printed.
FEATURED = ("admin", "manager", "officer", ENTERPRISE_USERNAME)


@dataclass(frozen=True)
class StaffSpec:
    """A bureau account: role, and the region it serves (None for the administrator)."""

    username: str
    name: str
    role: str
    region_code: str | None
    phone: str = ""


STAFF: tuple[StaffSpec, ...] = (
    StaffSpec("admin", "系统管理员", Role.ADMIN, None),
    StaffSpec("manager", "王建国", Role.MANAGER, "640100", "13995010101"),
    StaffSpec("manager_szs", "张海峰", Role.MANAGER, "640200", "13909520202"),
    StaffSpec("officer", "李晓梅", Role.OFFICER, "640106", "13895010606"),
    StaffSpec("officer_xingqing", "赵丽娟", Role.OFFICER, "640104", "13895010404"),
    StaffSpec("officer_xixia", "马文斌", Role.OFFICER, "640105", "13895010505"),
    StaffSpec("officer_dawukou", "杨志刚", Role.OFFICER, "640202", "13995220202"),
    StaffSpec("officer_litong", "丁海燕", Role.OFFICER, "640302", "13995330202"),
    StaffSpec("officer_yuanzhou", "田国强", Role.OFFICER, "640402", "13995440202"),
    StaffSpec("officer_shapotou", "白雪", Role.OFFICER, "640502", "13995550202"),
)


class PasswordHash:
    """The demo password's hash, computed at most once per load (scrypt costs ~100 ms a call)."""

    def __init__(self) -> None:
        self._value: str | None = None

    def __call__(self) -> str:
        """The hash, computed on first use."""
        if self._value is None:
            self._value = hash_password(DEMO_PASSWORD)
        return self._value


def _existing(session, usernames: list[str]) -> dict[str, User]:
    stmt = select(User).where(func.lower(User.username).in_([u.lower() for u in usernames]))
    return {user.username.lower(): user for user in session.scalars(stmt)}


def load_staff(session, regions: dict[str, Region], password_hash: PasswordHash, tally: Tally) -> dict[str, User]:
    """Create the bureau's demo accounts that are missing; return every one by user name."""
    users = _existing(session, [spec.username for spec in STAFF])
    for spec in STAFF:
        if spec.username in users:
            tally.existing += 1
            continue
        region = regions[spec.region_code] if spec.region_code else None
        user = User(username=spec.username, name=spec.name, role=spec.role, phone=spec.phone,
                    email=f"{spec.username}@example.com", region_id=region.id if region else None,
                    password_hash=password_hash(), active=True)
        session.add(user)
        users[spec.username] = user
        tally.created += 1
    session.flush()  # the figures' verified_by needs the ids
    return users


def verifier_lookup(users: dict[str, User]) -> Callable[[Region], int | None]:
    """Who verifies a region's figures: its nearest officer, else its manager, else the administrator."""
    by_region: dict[int, int] = {}
    for user in sorted(users.values(), key=lambda u: u.role != Role.OFFICER):  # officers first
        if user.region_id is not None and user.role in (Role.OFFICER, Role.MANAGER):
            by_region.setdefault(user.region_id, user.id)
    admin = users.get("admin")
    fallback = admin.id if admin is not None else None

    def lookup(region: Region) -> int | None:
        for region_id in reversed(region.path.strip("/").split("/")):
            if region_id and int(region_id) in by_region:
                return by_region[int(region_id)]
        return fallback

    return lookup


def load_enterprise_user(session, showcase: EnterpriseSpec, enterprise_id: int, password_hash: PasswordHash,
                         tally: Tally) -> User:
    """The `enterprise` account: the primary contact of the showcase enterprise."""
    existing = _existing(session, [ENTERPRISE_USERNAME])
    if ENTERPRISE_USERNAME in existing:
        tally.existing += 1
        return existing[ENTERPRISE_USERNAME]
    contact = next(c for c in showcase.contacts if c["is_primary"])
    user = User(username=ENTERPRISE_USERNAME, name=contact["name"], role=Role.ENTERPRISE, phone=contact["phone"],
                email=f"{ENTERPRISE_USERNAME}@example.com", enterprise_id=enterprise_id,
                password_hash=password_hash(), active=True)
    session.add(user)
    session.flush()
    tally.created += 1
    return user


def featured_accounts(session) -> list[User]:
    """The four accounts to print after a load, as they are now in the database."""
    users = _existing(session, list(FEATURED))
    return [users[name] for name in FEATURED if name in users]
