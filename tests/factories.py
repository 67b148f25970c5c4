"""Factories for test data: valid by default, any field overridable."""
from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal

from crm.auth.models import User
from crm.core.security import hash_password
from crm.core.uscc import check_digit
from crm.enterprises.models import AnnualFigures, Enterprise, IntellectualProperty, Region
from crm.extensions import db
from crm.ladder.models import Certification
from crm.policies.models import Policy

PASSWORD = "Passw0rd-test"
_seq = itertools.count(1)


def uscc(region_code: str = "640106") -> str:
    """A fresh valid USCC in a region."""
    body = f"91{region_code}MA{next(_seq):07d}"
    return body + check_digit(body)


def region(code: str, name: str, level: str, parent: Region | None = None) -> Region:
    """A region with its materialised path."""
    r = Region(code=code, name=name, level=level, parent_id=parent.id if parent else None)
    db.session.add(r)
    db.session.flush()
    r.path = f"{parent.path if parent else '/'}{r.id}/"
    db.session.flush()
    return r


def enterprise(region_: Region, **kw) -> Enterprise:
    """An enterprise in `region_` with a valid, unique USCC."""
    n = next(_seq)
    values = dict(name=f"测试企业{n:04d}有限公司", uscc=uscc(region_.code[:6] if region_.code.isdigit() else "640106"),
                  region_id=region_.id, industry_code="C3511", tech_domain="advanced_manufacturing",
                  established_on=date(2015, 5, 1), is_above_scale=False, status="active")
    values.update(kw)
    e = Enterprise(**values)
    db.session.add(e)
    db.session.flush()
    return e


def figures(enterprise_: Enterprise, year: int, **kw) -> AnnualFigures:
    """A plausible year of figures."""
    values = dict(revenue=Decimal("3200.00"), hightech_revenue=Decimal("2300.00"), rd_expense=Decimal("180.00"),
                  rd_expense_domestic=Decimal("180.00"), total_cost=Decimal("2800.00"),
                  total_assets=Decimal("4100.00"), net_assets=Decimal("2100.00"), employees=85, tech_staff=14,
                  rd_staff=10)
    values.update(kw)
    f = AnnualFigures(enterprise_id=enterprise_.id, year=year, **values)
    db.session.add(f)
    db.session.flush()
    return f


def ip(enterprise_: Enterprise, kind: str = "invention_patent", **kw) -> IntellectualProperty:
    """An IP item."""
    values = dict(title="一种测试装置", number=f"ZL2021{next(_seq):07d}.X", granted_on=date(2022, 3, 1))
    values.update(kw)
    item = IntellectualProperty(enterprise_id=enterprise_.id, kind=kind, **values)
    db.session.add(item)
    db.session.flush()
    return item


def certification(enterprise_: Enterprise, tier: str = "high_tech", issued_on: date | None = None,
                  **kw) -> Certification:
    """A valid certification through the service (events and the current tier follow)."""
    from crm.ladder import services

    issued_on = issued_on or date.today().replace(month=1, day=1)
    data = dict(tier=tier, certificate_no=f"GR{issued_on.year}64{next(_seq):06d}", issued_on=issued_on,
                expires_on=None, issuer="宁夏回族自治区科学技术厅", status="active", note="")
    data.update(kw)
    return services.record_certification(enterprise_, data, actor="test")


def policy(title: str | None = None, **kw) -> Policy:
    """An active policy of the catalogue with an application window around 2026."""
    values = dict(title=title or f"测试政策{next(_seq):04d}", issuer="宁夏回族自治区科学技术厅",
                  document_no=f"宁科发〔2026〕{next(_seq)}号", summary="对符合条件的企业给予支持。",
                  opens_on=date(2026, 1, 1), closes_on=date(2026, 12, 31), active=True)
    values.update(kw)
    p = Policy(**values)
    db.session.add(p)
    db.session.flush()
    return p


def user(role: str, *, region: Region | None = None, enterprise: Enterprise | None = None,
         username: str | None = None, password: str = PASSWORD, serves: Iterable[Enterprise] = (), **kw) -> User:
    """A user of a role (managers/officers in a region, enterprise users of one); an officer serves `serves` now."""
    u = User(username=username or f"{role}{next(_seq)}", name=kw.pop("name", f"{role} user"), role=role,
             region_id=region.id if region else None, enterprise_id=enterprise.id if enterprise else None,
             password_hash=hash_password(password), **kw)
    db.session.add(u)
    db.session.flush()
    for served in serves:
        assignment(served, u)
    return u


def department(name: str | None = None, **kw):
    """A department needs are referred to (the migration's seeded list is emptied between tests)."""
    from crm.service.models import Department

    d = Department(name=name or f"部门{next(_seq)}", **kw)
    db.session.add(d)
    db.session.flush()
    return d


def visit(enterprise_: Enterprise, officer: User, **kw):
    """A visit written directly (no checks, no audit)."""
    from crm.core import clock
    from crm.service.models import Visit

    values = dict(visited_on=clock.today(), mode="onsite", people_met="张总（总经理）", summary="走访")
    values.update(kw)
    v = Visit(enterprise_id=enterprise_.id, officer_id=officer.id, **values)
    db.session.add(v)
    db.session.flush()
    return v


def need(enterprise_: Enterprise, *, owner: User | None = None, visit=None, **kw):
    """A need written directly (no checks, no audit); any status, owner or dates."""
    from datetime import timedelta

    from crm.core import clock
    from crm.service.models import Need

    if owner is not None:
        kw["owner_id"] = owner.id
    if visit is not None:
        kw["visit_id"] = visit.id
    raised_on = kw.pop("raised_on", clock.today())
    values = dict(category="policy", title=f"需求{next(_seq)}", description="", raised_on=raised_on,
                  due_on=raised_on + timedelta(days=7), status="open")
    values.update(kw)
    n = Need(enterprise_id=enterprise_.id, **values)
    db.session.add(n)
    db.session.flush()
    return n


def referral(need_, *, referred_by: User | None = None, **kw):
    """A pending referral of a need to its department (need.department_id), written directly (no checks, no audit)."""
    from datetime import timedelta

    from crm.core import clock
    from crm.referrals.models import Referral

    values = dict(referred_on=clock.today(), due_on=clock.today() + timedelta(days=14), note="请协助办理",
                  status="pending", department_id=need_.department_id)
    values.update(kw)
    r = Referral(need_id=need_.id, referred_by_id=referred_by.id if referred_by else None, **values)
    db.session.add(r)
    db.session.flush()
    return r


def follow_up(enterprise_: Enterprise, assignee: User, *, need=None, **kw):
    """A follow-up written directly (no checks, no audit)."""
    from datetime import timedelta

    from crm.core import clock
    from crm.service.models import FollowUp

    if need is not None:
        kw["need_id"] = need.id
    values = dict(due_on=clock.today() + timedelta(days=7), action="回访企业", source="manual")
    values.update(kw)
    f = FollowUp(enterprise_id=enterprise_.id, assignee_id=assignee.id, **values)
    db.session.add(f)
    db.session.flush()
    return f


def assignment(enterprise_: Enterprise, officer: User, starts_on: date | None = None,
               ends_on: date | None = None):
    """An officer serving an enterprise (current unless `ends_on`), inserted directly: no checks, no audit."""
    from crm.service.models import Assignment

    a = Assignment(enterprise_id=enterprise_.id, officer_id=officer.id, starts_on=starts_on or date(2024, 1, 1),
                   ends_on=ends_on)
    db.session.add(a)
    db.session.flush()
    return a


@dataclass
class World:
    """The standard test geography and one enterprise in each leaf."""

    province: Region
    city: Region
    county_x: Region
    county_y: Region
    park_x: Region
    other_city: Region
    county_z: Region
    ent_x: Enterprise
    ent_park: Enterprise
    ent_y: Enterprise
    ent_z: Enterprise


def build_world() -> World:
    """Province 640000 → city 640100 → counties 640104 (X, with a park) and 640105 (Y); city 640200 → 640202 (Z)."""
    p = region("640000", "宁夏回族自治区", "province")
    c = region("640100", "银川市", "city", p)
    x = region("640104", "兴庆区", "county", c)
    y = region("640105", "西夏区", "county", c)
    park = region("6401P1", "银川经济技术开发区", "park", x)
    c2 = region("640200", "石嘴山市", "city", p)
    z = region("640202", "大武口区", "county", c2)
    w = World(p, c, x, y, park, c2, z,
              enterprise(x, name="兴庆智能装备有限公司"), enterprise(park, name="园区新材料有限公司"),
              enterprise(y, name="西夏生物科技有限公司"), enterprise(z, name="大武口光伏科技有限公司"))
    db.session.commit()
    return w


def sheet_batch(user: User, enterprises: list[Enterprise], tier: str = "high_tech", lang: str = "zh"):
    """A finished batch of readiness sheets with its (empty) ZIP, without rendering anything."""
    import zipfile

    from crm.ladder import documents

    batch = documents.new_batch(user, tier, lang, None, [e.id for e in enterprises])
    batch.status, batch.done = "done", batch.total
    db.session.commit()
    path = documents.batch_path(batch.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("index.csv", "")
    return batch



def notification(user: User, kind: str = "need_overdue", **kw):
    """An unread notification for `user` (a unique dedupe key unless given)."""
    from crm.notify.models import Notification

    values = dict(params={"title": "申请科技贷款", "enterprise": "兴庆智能装备有限公司", "due_on": "2026-11-01"},
                  link="/needs", dedupe_key=f"test:{next(_seq)}")
    values.update(kw)
    n = Notification(user_id=user.id, kind=kind, **values)
    db.session.add(n)
    db.session.flush()
    return n


def utc(day: date, hour: int = 4):
    """A UTC timestamp on `day` (04:00 UTC is noon in Asia/Shanghai, the same date)."""
    from datetime import datetime

    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def submission(enterprise_: Enterprise, by: User, year: int, **values):
    """A pending figures submission written directly (no checks, no audit): the year's figures on record
    (or none) with `values` (amounts as text) changed; its base is the figures on record now."""
    from crm.portal import queries
    from crm.portal.models import Submission

    base = queries.figures_snapshot(queries.accepted_figures(enterprise_, year))
    data = {name: None for name in queries.VALUE_FIELDS} | base | values
    s = Submission(enterprise_id=enterprise_.id, kind="figures", year=year, data=data, base=base,
                   submitted_by_id=by.id)
    db.session.add(s)
    db.session.flush()
    return s
