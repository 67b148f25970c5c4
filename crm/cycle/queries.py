"""Reads of the certification cycle, through the access policy: batches, the board, the list, conversion rates,
held tiers at risk (保级预警), the bulletin's figures.

Record rules: an officer moves the applications of the enterprises they serve and reads the rest of their
region; a manager reads and moves everything in their region subtree and sets its batches; an admin all.
A batch is visible to a regional user when it covers part of their scope (its region is theirs, above
theirs or below it); the cards shown are always only those of enterprises in their scope.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import joinedload

from crm.core import clock
from crm.core.policy import Role, can
from crm.cycle.models import (
    PATH,
    Application,
    Batch,
    Bulletin,
    EnterpriseFlag,
    Stage,
)
from crm.enterprises.models import AnnualFigures, Enterprise, EnterpriseStatus, Region
from crm.enterprises.queries import can_view_enterprise, scope_enterprises, subtree_ids
from crm.extensions import db
from crm.ladder.tiers import Tier

TIERS = [t.value for t in Tier]
# Held tiers are watched this long before their certificate expires (certificates without an expiry always).
AT_RISK_MONTHS = 18
# A year-on-year fall of revenue, R&D expense or employees by at least this share is a warning.
DROP_SHARE = Decimal("0.10")
# A 高企 must re-apply before its certificate lapses: within this many days of expiry without an application for
# the tier it is at risk (the scheduler's 180-day re-certification follow-up, crm.service.jobs, is planned then).
RECERT_DAYS = 180
DROP_FIELDS = ("revenue", "rd_expense", "employees")


# --- record rules ----------------------------------------------------------------------------------

def can_manage_region(user, region_id: int) -> bool:
    """Whether `user` may set batches and bulletins of the region: an admin, or a manager above or at it."""
    if not can(user, "batches.manage"):
        return False
    if user.role == Role.ADMIN:
        return True
    return user.region_id is not None and region_id in subtree_ids(user.region_id)


def can_move(user, enterprise: Enterprise) -> bool:
    """Whether `user` may file or move the enterprise's applications: its officer, a manager of its region, admins."""
    from crm.service.queries import serves

    if not can(user, "applications.write") or not can_view_enterprise(user, enterprise):
        return False
    if user.role in (Role.ADMIN, Role.MANAGER):
        return True
    return serves(user, enterprise)


def can_read(user, enterprise: Enterprise) -> bool:
    """Whether `user` may read the enterprise's applications and flags."""
    return can(user, "applications.read") and can_view_enterprise(user, enterprise)


def can_flag(user, enterprise: Enterprise) -> bool:
    """Officers flag the enterprises they serve; managers of its region and admins any."""
    return can_move(user, enterprise) and enterprise.archived_at is None


def _region_path(region_id: int) -> str | None:
    return db.session.scalar(select(Region.path).where(Region.id == region_id))


def batches_query(user, *, year: int | None = None, tier: str = "") -> Select:
    """Batches covering part of `user`'s scope, newest year first."""
    stmt = select(Batch).options(joinedload(Batch.region)).join(Region, Region.id == Batch.region_id)
    if user.role != Role.ADMIN:
        path = _region_path(user.region_id) if user.region_id else None
        if path is None:
            return stmt.where(false())
        # the batch's region is the user's, below it, or above it (its path a prefix of the user's)
        stmt = stmt.where(or_(Region.path.startswith(path), func.substr(path, 1, func.length(Region.path))
                              == Region.path))
    if year:
        stmt = stmt.where(Batch.year == year)
    if tier:
        stmt = stmt.where(Batch.tier == tier)
    return stmt.order_by(Batch.year.desc(), Region.path, Batch.tier, Batch.id)


def get_batch_for(user, batch_id: int) -> Batch | None:
    """The batch if `user` may see it, else None (404)."""
    return db.session.scalar(batches_query(user).where(Batch.id == batch_id))


def get_application_for(user, application_id: int) -> Application | None:
    """The application if `user` may read its enterprise, else None (404)."""
    application = db.session.get(Application, application_id,
                                 options=[joinedload(Application.enterprise), joinedload(Application.batch)])
    if application is None or not can_read(user, application.enterprise):
        return None
    return application


# --- the board -------------------------------------------------------------------------------------

@dataclass
class Board:
    """A batch's kanban: the cards of each stage (of enterprises in the user's scope) and which ones they move."""

    batch: Batch
    columns: dict[str, list[Application]]
    movable: set[int]
    officers: dict[int, str]
    total: int

    @property
    def not_passed(self) -> list[Application]:
        """The applications that did not pass (shown under the board)."""
        return self.columns.get(Stage.NOT_PASSED, [])


def board(user, batch: Batch) -> Board:
    """The batch's cards by stage, in a fixed number of queries whatever the number of cards."""
    from crm.auth.models import User
    from crm.service.models import Assignment

    stmt = scope_enterprises(
        select(Application).join(Application.enterprise).options(joinedload(Application.enterprise))
        .where(Application.batch_id == batch.id), user).order_by(Enterprise.name, Application.id)
    apps = list(db.session.scalars(stmt))
    columns: dict[str, list[Application]] = {s.value: [] for s in (*PATH, Stage.NOT_PASSED)}
    for a in apps:
        a.batch = batch  # the board's batch, not a lazy load per card
        columns[a.stage].append(a)
    ids = [a.enterprise_id for a in apps]
    officers: dict[int, str] = {}
    if ids:
        officers = dict(db.session.execute(
            select(Assignment.enterprise_id, User.name).join(User, User.id == Assignment.officer_id)
            .where(Assignment.ends_on.is_(None), Assignment.enterprise_id.in_(ids))).all())
    if not can(user, "applications.write"):
        movable = set()
    elif user.role in (Role.ADMIN, Role.MANAGER):
        movable = {a.id for a in apps}
    else:
        served = set(db.session.scalars(select(Assignment.enterprise_id).where(
            Assignment.officer_id == user.id, Assignment.ends_on.is_(None), Assignment.enterprise_id.in_(ids))))
        movable = {a.id for a in apps if a.enterprise_id in served}
    return Board(batch, columns, movable, officers, len(apps))


def enterprise_choices(user, batch: Batch, limit: int = 500) -> list[tuple[int, str]]:
    """Enterprises `user` may file in the batch that have no application for its tier and year yet."""
    from crm.service.queries import my_enterprises

    filed = select(Application.enterprise_id).where(Application.tier == batch.tier, Application.year == batch.year)
    region_ids = subtree_ids(batch.region_id)
    if user.role == Role.OFFICER:
        stmt = my_enterprises(user)
    else:
        stmt = scope_enterprises(select(Enterprise), user).where(Enterprise.archived_at.is_(None)).order_by(
            Enterprise.name, Enterprise.id)
    stmt = stmt.where(Enterprise.id.not_in(filed), Enterprise.region_id.in_(region_ids),
                      Enterprise.status == EnterpriseStatus.ACTIVE)
    return [(e.id, e.name) for e in db.session.scalars(stmt.limit(limit))]


def applications_of(enterprise: Enterprise) -> list[Application]:
    """The enterprise's applications, newest year first."""
    return list(db.session.scalars(select(Application).options(joinedload(Application.batch))
                                   .where(Application.enterprise_id == enterprise.id)
                                   .order_by(Application.year.desc(), Application.id.desc())))


def flags_of(enterprise: Enterprise) -> dict[str, EnterpriseFlag]:
    """{kind: flag} of the enterprise (raised or lowered)."""
    return {f.kind: f for f in db.session.scalars(select(EnterpriseFlag).where(
        EnterpriseFlag.enterprise_id == enterprise.id))}


# --- the list and conversion -----------------------------------------------------------------------

@dataclass
class AppFilter:
    """The applications list's filters."""

    year: int | None = None
    tier: str = ""
    stage: str = ""
    region_id: int | None = None
    officer: str = ""  # "" anyone, an officer's id (text), "none"


def _filters(f: AppFilter) -> list:
    clauses = [Enterprise.archived_at.is_(None)]
    if f.year:
        clauses.append(Application.year == f.year)
    if f.tier:
        clauses.append(Application.tier == f.tier)
    if f.region_id:
        clauses.append(Enterprise.region_id.in_(subtree_ids(f.region_id)))
    return clauses


def applications_query(user, f: AppFilter) -> Select:
    """Applications in `user`'s scope matching the filters, by stage along the path, then enterprise name."""
    from sqlalchemy import case

    from crm.service.queries import filter_by_officer

    stmt = (select(Application).join(Application.enterprise)
            .options(joinedload(Application.enterprise).joinedload(Enterprise.region),
                     joinedload(Application.batch))
            .where(*_filters(f)))
    if f.stage:
        stmt = stmt.where(Application.stage == f.stage)
    if f.officer:
        stmt = filter_by_officer(stmt, f.officer)
    order = case({s.value: i for i, s in enumerate((*PATH, Stage.NOT_PASSED))}, value=Application.stage)
    return scope_enterprises(stmt, user).order_by(Application.year.desc(), order, Enterprise.name, Application.id)


@dataclass
class Conversion:
    """Per region: how many applications reached each stage, and the share of those that started."""

    region: Region | None
    reached: dict[str, int]
    not_passed: int

    @property
    def started(self) -> int:
        """Applications filed (every one starts at intent)."""
        return self.reached.get(Stage.INTENT, 0)

    def rate(self, stage: str) -> Decimal | None:
        """The share of filed applications that reached `stage` (None when none was filed)."""
        if not self.started:
            return None
        return Decimal(self.reached.get(stage, 0)) / Decimal(self.started)

    def step_rate(self, stage: str) -> Decimal | None:
        """The share of those that reached the stage before that also reached this one."""
        i = PATH.index(Stage(stage))
        before = self.reached.get(PATH[i - 1], 0) if i else self.started
        return Decimal(self.reached.get(stage, 0)) / Decimal(before) if before else None


def conversion(user, f: AppFilter, region: Region | None) -> list[Conversion]:
    """Stage-by-stage conversion for `region` (the user's scope) and each of its sub-regions: one GROUP BY query.

    An application has "reached" a stage when the day of that stage is recorded (a correction back one step
    clears it), so a not-passed application counts in every stage it reached before failing.
    """
    from crm.pipeline.queries import RegionTree

    columns = [func.count(getattr(Application, f"{s}_on")) for s in PATH]
    stmt = (select(Enterprise.region_id, *columns, func.count(Application.not_passed_on))
            .select_from(Application).join(Enterprise, Enterprise.id == Application.enterprise_id)
            .where(*_filters(f)).group_by(Enterprise.region_id))
    if region is not None:
        stmt = stmt.where(Enterprise.region_id.in_(subtree_ids(region.id)))
    rows = db.session.execute(scope_enterprises(stmt, user)).all()
    tree = RegionTree.load()
    children = tree.children(region)
    owner: dict[int, int] = {}
    for child in children:
        for rid in tree.leaves(child.id):
            owner[rid] = child.id
    stages = (*PATH, Stage.NOT_PASSED)
    top: Counter = Counter()
    per: dict[int, Counter] = defaultdict(Counter)
    for row in rows:
        region_id, counts = row[0], row[1:]
        for s, n in zip(stages, counts, strict=True):
            top[s] += n
            if region_id in owner:
                per[owner[region_id]][s] += n
    out = [Conversion(region, {s: top[s] for s in PATH}, top[Stage.NOT_PASSED])]
    for child in children:
        c = per.get(child.id, Counter())
        out.append(Conversion(child, {s: c[s] for s in PATH}, c[Stage.NOT_PASSED]))
    return out


def filed_by_stage(region: Region | None, year: int, tiers: list[str]) -> dict[str, Counter]:
    """{tier: Counter(stage → applications)} of the year's applications in the region (one grouped query)."""
    if not tiers:
        return {}
    stmt = (select(Application.tier, Application.stage, func.count()).select_from(Application)
            .join(Enterprise, Enterprise.id == Application.enterprise_id)
            .where(Application.year == year, Application.tier.in_(tiers), Enterprise.archived_at.is_(None))
            .group_by(Application.tier, Application.stage))
    if region is not None:
        stmt = stmt.where(Enterprise.region_id.in_(subtree_ids(region.id)))
    out = {t: Counter() for t in tiers}
    for tier, stage, n in db.session.execute(stmt):
        out[tier][stage] += n
    return out


def filed_enterprises(region: Region | None, year: int, tiers: list[str]) -> dict[str, set[int]]:
    """{tier: ids of the enterprises with an application of the year} (one query)."""
    if not tiers:
        return {}
    stmt = select(Application.tier, Application.enterprise_id).where(Application.year == year,
                                                                     Application.tier.in_(tiers))
    if region is not None:
        stmt = stmt.join(Enterprise, Enterprise.id == Application.enterprise_id).where(
            Enterprise.region_id.in_(subtree_ids(region.id)))
    out: dict[str, set[int]] = {t: set() for t in tiers}
    for tier, eid in db.session.execute(stmt):
        out[tier].add(eid)
    return out


# --- held tiers at risk (保级预警) ------------------------------------------------------------------

@dataclass
class AtRisk:
    """A held certification at risk and why."""

    enterprise: Enterprise
    tier: str
    certificate_no: str
    expires_on: date | None
    failing: list[str] = field(default_factory=list)  # labels of the held tier's criteria failing now
    drops: list[tuple[str, Decimal]] = field(default_factory=list)  # (figure, share fallen)
    flags: list[str] = field(default_factory=list)  # flag kinds raised
    # a 高企 within RECERT_DAYS of expiry with no re-certification application filed
    recert_due: bool = False
    # the open re-certification follow-up (planned by the 180-day job or by hand): when it is due, else None
    recert_follow_up_on: date | None = None

    @property
    def reasons(self) -> int:
        """How many warnings there are."""
        return len(self.failing) + len(self.drops) + len(self.flags) + int(self.recert_due)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def at_risk_query(user, *, region_id: int | None = None, officer: str = "", day: date | None = None) -> Select:
    """Valid certifications in `user`'s scope within AT_RISK_MONTHS of expiry (or without one), soonest first."""
    from crm.ladder.models import Certification, CertificationStatus
    from crm.service.queries import filter_by_officer

    day = day or clock.today()
    until = _add_months(day, AT_RISK_MONTHS)
    stmt = (select(Certification).join(Enterprise, Enterprise.id == Certification.enterprise_id)
            .options(joinedload(Certification.enterprise))
            .where(Certification.status == CertificationStatus.ACTIVE, Certification.issued_on <= day,
                   or_(Certification.expires_on.is_(None),
                       and_(Certification.expires_on >= day, Certification.expires_on <= until)),
                   Enterprise.archived_at.is_(None)))
    if region_id:
        stmt = stmt.where(Enterprise.region_id.in_(subtree_ids(region_id)))
    if officer:
        stmt = filter_by_officer(stmt, officer)
    return scope_enterprises(stmt, user).order_by(Certification.expires_on.is_(None), Certification.expires_on,
                                                  Enterprise.name, Certification.id)


def _drops(figures: list, day: date) -> list[tuple[str, Decimal]]:
    """(field, share fallen) where the latest complete year fell by DROP_SHARE or more against the year before."""
    latest = day.year - 1
    by_year = {f.year: f for f in figures}
    now, before = by_year.get(latest), by_year.get(latest - 1)
    if now is None or before is None:
        return []
    out = []
    for name in DROP_FIELDS:
        a, b = getattr(before, name), getattr(now, name)
        if a is None or b is None or not a or b >= a:
            continue
        share = (Decimal(a) - Decimal(b)) / Decimal(a)
        if share >= DROP_SHARE:
            out.append((name, share))
    return out


def _recertification(enterprise_ids: list[int], day: date) -> tuple[set[int], dict[int, date]]:
    """(the enterprises with a high_tech application filed this year or later and not failed, {enterprise: the
    due day of its open re-certification follow-up}) (two queries per 900)."""
    from crm.service.models import FollowUp, FollowUpSource

    filed: set[int] = set()
    follow_ups: dict[int, date] = {}
    for start in range(0, len(enterprise_ids), 900):
        chunk = enterprise_ids[start:start + 900]
        filed.update(db.session.scalars(select(Application.enterprise_id).where(
            Application.enterprise_id.in_(chunk), Application.tier == Tier.HIGH_TECH,
            Application.year >= day.year, Application.stage != Stage.NOT_PASSED)))
        follow_ups.update(db.session.execute(
            select(FollowUp.enterprise_id, func.min(FollowUp.due_on))
            .where(FollowUp.enterprise_id.in_(chunk), FollowUp.source == FollowUpSource.EXPIRY,
                   FollowUp.done_at.is_(None)).group_by(FollowUp.enterprise_id)).all())
    return filed, follow_ups


def at_risk(user, *, region_id: int | None = None, officer: str = "", day: date | None = None,
            lang: str = "zh") -> list[AtRisk]:
    """Held certifications at risk: the held tier's criteria failing on today's figures (the readiness engine,
    profiles built in bulk), year-on-year drops, officers' flags. A constant number of queries per 900.
    Evaluates every certification in scope: `at_risk_page` reads a page of them from the stored ranks."""
    day = day or clock.today()
    certs = list(db.session.scalars(at_risk_query(user, region_id=region_id, officer=officer, day=day)).unique())
    return [item for item in _assess(certs, day, lang) if item.reasons]


def _assess(certs: list, day: date, lang: str) -> list[AtRisk]:
    """Each certification with its warnings, evaluated now (empty when it has none)."""
    from crm.ladder.engine import FAIL, evaluate
    from crm.ladder.profile import parse_profile
    from crm.ladder.queries import _CHUNK, active_rulesets, profiles_of

    if not certs:
        return []
    enterprises = list({c.enterprise_id: c.enterprise for c in certs}.values())
    ids = [e.id for e in enterprises]
    profiles = profiles_of(enterprises, day)
    figures: dict[int, list] = defaultdict(list)
    flags: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        for row in db.session.execute(select(AnnualFigures.enterprise_id, AnnualFigures.year,
                                             *[getattr(AnnualFigures, n) for n in DROP_FIELDS])
                                      .where(AnnualFigures.enterprise_id.in_(chunk),
                                             AnnualFigures.year >= day.year - 2)):
            figures[row.enterprise_id].append(row)
        for eid, kind in db.session.execute(select(EnterpriseFlag.enterprise_id, EnterpriseFlag.kind).where(
                EnterpriseFlag.enterprise_id.in_(chunk), EnterpriseFlag.active.is_(True))
                .order_by(EnterpriseFlag.kind)):
            flags[eid].append(kind)
    rulesets = active_rulesets()
    parsed = {eid: parse_profile(data) for eid, data in profiles.items()}
    recert = [c.enterprise_id for c in certs if c.tier == Tier.HIGH_TECH and c.expires_on is not None
              and c.expires_on <= day + timedelta(days=RECERT_DAYS)]
    filed, follow_ups = _recertification(recert, day)
    out = []
    for cert in certs:
        eid = cert.enterprise_id
        result = evaluate(parsed[eid], cert.tier, rulesets, lang=lang)
        due = eid in recert and cert.tier == Tier.HIGH_TECH and eid not in filed
        out.append(AtRisk(cert.enterprise, cert.tier, cert.certificate_no, cert.expires_on,
                          failing=[c["label"] for c in result["criteria"] if c["status"] == FAIL],
                          drops=_drops(figures[eid], day), flags=flags[eid], recert_due=due,
                          recert_follow_up_on=follow_ups.get(eid) if due else None))
    return out


# The stored candidate ranks (crm.ladder: every operating enterprise x tier, kept current by the services'
# hooks, a nightly rebuild and a 5-minute job) hold how many of a tier's criteria each enterprise fails today,
# so the list can be filtered, counted and paged in SQL and only the 50 shown evaluated for their texts.

def _current_rank():
    """(CandidateRank, the join condition of a certification with its rank under the rule set in force)."""
    from crm.ladder.models import CandidateRank as r
    from crm.ladder.models import Certification
    from crm.ladder.queries import newest_ruleset_versions

    versions = {t: row.version for t, row in newest_ruleset_versions().items()}
    current = or_(*(and_(r.tier == t.value, r.ruleset_version == versions.get(t.value, 0)) for t in Tier))
    return r, and_(r.enterprise_id == Certification.enterprise_id, r.tier == Certification.tier, current)


def _has_a_warning(r, day: date):
    """SQL: the certification (joined with its rank `r`) has a warning: the held tier's criteria failing (the
    rank), a drop of DROP_SHARE or more, an active flag, or a 高企 due for re-certification without an
    application. The same rules as `_assess`, whose results the tests compare with it."""
    from sqlalchemy import exists
    from sqlalchemy.orm import aliased

    from crm.ladder.models import Certification

    now, before = aliased(AnnualFigures), aliased(AnnualFigures)
    share, whole = DROP_SHARE.as_integer_ratio()
    # (before - now) / before >= share, multiplied out: exact in SQL's numeric on PostgreSQL
    dropped = or_(*(and_(getattr(before, n) > 0, getattr(now, n).is_not(None), getattr(now, n) < getattr(before, n),
                         (getattr(before, n) - getattr(now, n)) * whole >= getattr(before, n) * share)
                    for n in DROP_FIELDS))
    filed = exists().where(Application.enterprise_id == Certification.enterprise_id,
                           Application.tier == Tier.HIGH_TECH, Application.year >= day.year,
                           Application.stage != Stage.NOT_PASSED)
    return or_(
        r.failing > 0,
        exists().where(EnterpriseFlag.enterprise_id == Certification.enterprise_id, EnterpriseFlag.active.is_(True)),
        exists().where(now.enterprise_id == Certification.enterprise_id, now.year == day.year - 1,
                       before.enterprise_id == Certification.enterprise_id, before.year == day.year - 2, dropped),
        and_(Certification.tier == Tier.HIGH_TECH, Certification.expires_on.is_not(None),
             Certification.expires_on <= day + timedelta(days=RECERT_DAYS), ~filed))


def at_risk_listed(user, *, region_id: int | None = None, officer: str = "", day: date | None = None,
                   rank_all: bool = False) -> Select | None:
    """select(Certification) of the held tiers at risk in scope, filtered on the stored ranks in SQL; None when
    more than 900 of the enterprises in scope have no rank under the rule set in force (a new rule set, a fresh
    database: the caller evaluates live). Up to 900 missing are ranked first (all of them with `rank_all`, the
    hourly job)."""
    from crm.ladder.models import Certification
    from crm.ladder.queries import _CHUNK
    from crm.ladder.services import refresh_ranks

    day = day or clock.today()
    held = at_risk_query(user, region_id=region_id, officer=officer, day=day)
    r, ranked = _current_rank()
    # the ranks keep their enterprise's region: the same scope on them lets PostgreSQL read a city's ranks by
    # its index instead of hashing the province's 250,000 (150 ms against 30 ms for a city)
    for within in (user.region_id if user.role != Role.ADMIN else None, region_id):
        if within:
            ranked = and_(ranked, r.region_id.in_(subtree_ids(within)))
    missing = list(db.session.scalars(
        held.with_only_columns(Certification.enterprise_id).order_by(None).distinct()
        .outerjoin(r, ranked).where(r.enterprise_id.is_(None))))
    if len(missing) > _CHUNK and not rank_all:
        return None
    if missing:
        refresh_ranks(missing, today=day)
    return held.join(r, ranked).where(_has_a_warning(r, day))


def at_risk_count(user, *, region_id: int | None = None, officer: str = "") -> int:
    """How many held tiers at risk are in scope: counted in SQL on the stored ranks, else evaluated."""
    listed = at_risk_listed(user, region_id=region_id, officer=officer)
    if listed is None:
        return len(at_risk(user, region_id=region_id, officer=officer))
    return _count(listed)


def _count(listed: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(listed.order_by(None).subquery())) or 0


def at_risk_page(user, *, region_id: int | None = None, officer: str = "", day: date | None = None,
                 lang: str = "zh"):
    """The requested page of 50 held tiers at risk (a ListPage of AtRisk): counted and paged in SQL on the stored
    ranks, only the shown evaluated for their texts; the whole list evaluated live when the ranks are missing."""
    from flask import current_app

    from crm.core.web import ListPage, list_page, page_number

    day = day or clock.today()
    listed = at_risk_listed(user, region_id=region_id, officer=officer, day=day)
    if listed is None:
        return list_page(at_risk(user, region_id=region_id, officer=officer, day=day, lang=lang))
    # the page's rows and the total in one statement (a window count): the filter is the costly part
    per_page = current_app.config["PER_PAGE"]

    def rows_from(first: int) -> list:
        return db.session.execute(listed.add_columns(func.count().over()).offset(first).limit(per_page)).unique().all()

    first = (page_number() - 1) * per_page
    rows = rows_from(first)
    page = ListPage.counted(rows[0][1] if rows else _count(listed), per_page)
    if page.first_index != first:  # asked past the last page: the last one
        rows = rows_from(page.first_index)
    certs = [cert for cert, _n in rows]
    # a rank a path without a hook left stale may list one with no warning today: not shown
    page.items = [item for item in _assess(certs, day, lang) if item.reasons]
    return page


# --- bulletins -------------------------------------------------------------------------------------

def bulletins_query(user) -> Select:
    """Bulletins of regions in `user`'s scope, newest month first."""
    stmt = select(Bulletin).options(joinedload(Bulletin.region))
    if user.role != Role.ADMIN:
        stmt = stmt.where(Bulletin.region_id.in_(subtree_ids(user.region_id) if user.region_id else []))
    return stmt.order_by(Bulletin.year.desc(), Bulletin.month.desc(), Bulletin.id.desc())


def get_bulletin_for(user, bulletin_id: int) -> Bulletin | None:
    """The bulletin if it is of a region in `user`'s scope."""
    return db.session.scalar(bulletins_query(user).where(Bulletin.id == bulletin_id))


def month_end(year: int, month: int) -> date:
    """The last day of a month."""
    return date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)


def month_movements(region: Region | None, year: int, month: int) -> list[tuple[Region, Counter]]:
    """Per sub-region: Counter((tier, "gained"|"lost") → n) of the month's tier events (one query)."""
    from crm.ladder.models import TierEvent, TierEventKind
    from crm.pipeline.queries import RegionTree, _fold

    first, last = date(year, month, 1), month_end(year, month)
    stmt = (select(Enterprise.region_id, TierEvent.tier, TierEvent.kind, func.count()).select_from(TierEvent)
            .join(Enterprise, Enterprise.id == TierEvent.enterprise_id)
            .where(TierEvent.occurred_on.between(first, last))
            .group_by(Enterprise.region_id, TierEvent.tier, TierEvent.kind))
    if region is not None:
        stmt = stmt.where(Enterprise.region_id.in_(subtree_ids(region.id)))
    counts: Counter = Counter()
    for rid, tier, kind, n in db.session.execute(stmt):
        way = "gained" if kind in (TierEventKind.GAINED, TierEventKind.REINSTATED) else "lost"
        counts[(rid, tier, way)] += n
    tree = RegionTree.load()
    folded = _fold(counts, region, tree)
    return [(child, folded.get(child.id, Counter())) for child in tree.children(region)]

