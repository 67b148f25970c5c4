"""Reads of service work (assignments, visits, needs, follow-ups), through the access policy's record rules."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, and_, false, func, literal, or_, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from crm.auth.models import User
from crm.core import clock
from crm.core.audit import AuditEvent
from crm.core.clock import local_date
from crm.core.policy import Role, can
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import can_view_enterprise, scope_enterprises, subtree_ids
from crm.extensions import db
from crm.service.models import (
    CLOSED_NEED_STATUSES,
    NEED_STATUS_LABELS,
    OPEN_NEED_STATUSES,
    Assignment,
    Department,
    FollowUp,
    Need,
    Visit,
)

# A visit's author may edit it this many days after recording it; after that only a manager (audited).
VISIT_EDIT_DAYS = 7

# The registry's and the candidate pool's "officer" filter: an officer's id, or this for "unassigned".
UNASSIGNED = "none"


def parse_officer_filter(raw: str | None) -> str:
    """The officer filter from a query string: "", "none" or an officer's id (as text)."""
    raw = (raw or "").strip()
    if raw == UNASSIGNED or (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        return raw
    return ""


def current_assignment(enterprise: Enterprise) -> Assignment | None:
    """The enterprise's current assignment, if any."""
    return db.session.scalar(select(Assignment).where(
        Assignment.enterprise_id == enterprise.id, Assignment.ends_on.is_(None)))


def assignment_history(enterprise: Enterprise) -> list[Assignment]:
    """Every assignment of the enterprise, the current one first, then newest first."""
    return list(db.session.scalars(select(Assignment).where(Assignment.enterprise_id == enterprise.id)
                                   .order_by(Assignment.ends_on.is_not(None), Assignment.starts_on.desc(),
                                             Assignment.id.desc())))


def filter_by_officer(stmt: Select, officer: str) -> Select:
    """Restrict an enterprise query to one officer's current enterprises, or ("none") the unassigned."""
    current = select(Assignment.enterprise_id).where(Assignment.ends_on.is_(None))
    if officer == UNASSIGNED:
        return stmt.where(Enterprise.id.not_in(current))
    if officer:
        return stmt.where(Enterprise.id.in_(current.where(Assignment.officer_id == int(officer))))
    return stmt


def officers_in_scope(user) -> Select:
    """Active officers whose region lies in `user`'s scope (an admin's: all), by name."""
    stmt = select(User).options(joinedload(User.region)).where(User.role == Role.OFFICER, User.active.is_(True))
    if user is None or not user.is_authenticated:
        return stmt.where(false())
    if user.role != Role.ADMIN:
        if user.role not in (Role.MANAGER, Role.OFFICER) or not user.region_id:
            return stmt.where(false())
        stmt = stmt.where(User.region_id.in_(subtree_ids(user.region_id)))
    return stmt.order_by(User.name, User.id)


def officer_choices(user) -> list[tuple[int, str]]:
    """(id, "name（region）") of the officers in `user`'s scope, for the filters and the bulk form."""
    return [(o.id, f"{o.name}（{o.region.name if o.region else '—'}）")
            for o in db.session.scalars(officers_in_scope(user))]


def officers_for(enterprise: Enterprise) -> list[User]:
    """Active officers who may serve the enterprise: their region is the enterprise's or above it."""
    ancestors = [int(i) for i in enterprise.region.path.strip("/").split("/") if i]
    return list(db.session.scalars(select(User).where(
        User.role == Role.OFFICER, User.active.is_(True), User.region_id.in_(ancestors)).order_by(User.name, User.id)))


def may_serve(officer: User | None, enterprise: Enterprise) -> bool:
    """Whether `officer` is an active officer whose region subtree holds the enterprise's region."""
    return (officer is not None and officer.role == Role.OFFICER and officer.is_active
            and officer.region_id is not None and enterprise.region_id in subtree_ids(officer.region_id))


def can_manage_assignment(user, enterprise: Enterprise) -> bool:
    """Whether `user` may assign this enterprise: the capability and the enterprise in their scope."""
    if not can(user, "assignment.manage"):
        return False
    if user.role == Role.ADMIN:
        return True
    return user.region_id is not None and enterprise.region_id in subtree_ids(user.region_id)


def assigned_counts(user, officer_ids: list[int]) -> dict[int, int]:
    """{officer id: enterprises they serve now}, counting only enterprises in `user`'s scope (not archived)."""
    if not officer_ids:
        return {}
    scoped = scope_enterprises(select(Enterprise.id), user).where(Enterprise.archived_at.is_(None))
    rows = db.session.execute(select(Assignment.officer_id, func.count())
                              .where(Assignment.ends_on.is_(None), Assignment.officer_id.in_(officer_ids),
                                     Assignment.enterprise_id.in_(scoped))
                              .group_by(Assignment.officer_id))
    return {officer_id: n for officer_id, n in rows}


def unassigned_count(user) -> int:
    """Enterprises in `user`'s scope (not archived, operating) that no officer serves."""
    stmt = scope_enterprises(select(func.count(Enterprise.id)), user).where(
        Enterprise.archived_at.is_(None), Enterprise.status == "active")
    return db.session.scalar(filter_by_officer(stmt, UNASSIGNED)) or 0


# --- record rules for visits, needs and follow-ups --------------------------------------------

def _in_scope(user, enterprise: Enterprise) -> bool:
    """Whether the enterprise lies in a regional user's subtree (admins: everywhere)."""
    if user.role == Role.ADMIN:
        return True
    return user.region_id is not None and enterprise.region_id in subtree_ids(user.region_id)


def serves(user, enterprise: Enterprise) -> bool:
    """Whether `user` is the enterprise's current service officer."""
    return user.role == Role.OFFICER and db.session.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.enterprise_id == enterprise.id, Assignment.officer_id == user.id,
        Assignment.ends_on.is_(None))) > 0


def can_read_service(user, enterprise: Enterprise) -> bool:
    """Whether `user` may read the enterprise's visits, needs, follow-ups and timeline."""
    return can(user, "service.read") and can_view_enterprise(user, enterprise)


def can_record(user, enterprise: Enterprise) -> bool:
    """Whether `user` may log a visit, raise a need or add a follow-up for the enterprise (in their region)."""
    return can(user, "service.write") and can_view_enterprise(user, enterprise) and enterprise.archived_at is None


def is_own_enterprise(user, enterprise: Enterprise) -> bool:
    """Whether `user` is an active enterprise user of this (not archived) enterprise: the portal's rule."""
    return (can(user, "portal.use") and user.enterprise_id is not None and user.enterprise_id == enterprise.id
            and enterprise.archived_at is None)


def can_raise_need(user, enterprise: Enterprise) -> bool:
    """Bureau users who may record for the enterprise, and its own contacts in the portal."""
    return can_record(user, enterprise) or is_own_enterprise(user, enterprise)


def can_comment_need(user, need: Need) -> bool:
    """Bureau users who may record for the need's enterprise, and its own contacts (visible comments only)."""
    return can_raise_need(user, need.enterprise)


def visit_edit_deadline(visit: Visit) -> date:
    """The last day the author may still edit the visit."""
    return clock.local_date(visit.created_at) + timedelta(days=VISIT_EDIT_DAYS)


def can_edit_visit(user, visit: Visit) -> bool:
    """The author within VISIT_EDIT_DAYS of recording it; a manager of its region or an admin at any time."""
    if not can(user, "service.write") or not can_view_enterprise(user, visit.enterprise):
        return False
    if user.role in (Role.ADMIN, Role.MANAGER):
        return True
    return visit.officer_id == user.id and clock.today() <= visit_edit_deadline(visit)


def can_work_need(user, need: Need) -> bool:
    """Whether `user` may change the need: its owner, the enterprise's officer, a manager of its region, an admin."""
    if not can(user, "service.write") or not can_view_enterprise(user, need.enterprise):
        return False
    if user.role in (Role.ADMIN, Role.MANAGER):
        return True
    return need.owner_id == user.id or serves(user, need.enterprise)


def can_work_follow_up(user, follow_up: FollowUp) -> bool:
    """Whether `user` may complete or change the follow-up: its assignee, a manager of its region, an admin."""
    if not can(user, "service.write") or not can_view_enterprise(user, follow_up.enterprise):
        return False
    return user.role in (Role.ADMIN, Role.MANAGER) or follow_up.assignee_id == user.id


def may_take(user: User | None, enterprise: Enterprise) -> bool:
    """Whether `user` can own a need or a follow-up of the enterprise: an active officer or manager of its region."""
    return (user is not None and user.is_active and user.role in (Role.OFFICER, Role.MANAGER)
            and user.region_id is not None and enterprise.region_id in subtree_ids(user.region_id))


def takers_for(enterprise: Enterprise) -> list[User]:
    """Active officers and managers whose region holds the enterprise, officers first, by name."""
    ancestors = [int(i) for i in enterprise.region.path.strip("/").split("/") if i]
    return list(db.session.scalars(select(User).where(
        User.role.in_((Role.OFFICER, Role.MANAGER)), User.active.is_(True), User.region_id.in_(ancestors))
        .order_by(User.role.desc(), User.name, User.id)))


def default_owner(enterprise: Enterprise, actor) -> User | None:
    """Who owns a new need by default: the enterprise's officer, else the person recording it (if they may)."""
    current = current_assignment(enterprise)
    if current is not None and current.officer.is_active:
        return current.officer
    return actor if may_take(actor, enterprise) else None


def departments(include_inactive: bool = False) -> list[Department]:
    """The departments needs are referred to, in the admin's order."""
    stmt = select(Department).order_by(Department.position, Department.id)
    if not include_inactive:
        stmt = stmt.where(Department.active.is_(True))
    return list(db.session.scalars(stmt))


# --- lists ---------------------------------------------------------------------------------

def _scoped(stmt: Select, user) -> Select:
    """Restrict a statement joined to Enterprise to `user`'s scope."""
    return scope_enterprises(stmt, user)


def my_enterprises(user) -> Select:
    """The enterprises `user` serves now (not archived), by name."""
    return (select(Enterprise).join(Assignment, and_(Assignment.enterprise_id == Enterprise.id,
                                                     Assignment.ends_on.is_(None)))
            .where(Assignment.officer_id == user.id, Enterprise.archived_at.is_(None))
            .order_by(Enterprise.name, Enterprise.id))


def enterprise_options(user, q: str = "", limit: int = 30) -> list[tuple[Enterprise, bool]]:
    """Enterprises for the visit form: (enterprise, mine), the user's own first, then others in scope matching `q`."""
    own = list(db.session.scalars(my_enterprises(user).where(
        Enterprise.name.contains(q, autoescape=True)).limit(limit))) if q or user.role == Role.OFFICER else []
    found = [(e, True) for e in own]
    if q:
        seen = {e.id for e in own}
        others = db.session.scalars(_scoped(select(Enterprise), user).where(
            Enterprise.archived_at.is_(None),
            or_(Enterprise.name.contains(q, autoescape=True), Enterprise.uscc.startswith(q.upper(), autoescape=True)))
            .order_by(Enterprise.name, Enterprise.id).limit(limit))
        found += [(e, False) for e in others if e.id not in seen][: max(0, limit - len(own))]
    return found


def visits_of(enterprise: Enterprise) -> Select:
    """The enterprise's visits, newest first, with officer and policies loaded."""
    return (select(Visit).where(Visit.enterprise_id == enterprise.id)
            .options(joinedload(Visit.officer), selectinload(Visit.policies))
            .order_by(Visit.visited_on.desc(), Visit.id.desc()))


def needs_of(enterprise: Enterprise) -> Select:
    """The enterprise's needs, open ones first, then by due date."""
    return (select(Need).where(Need.enterprise_id == enterprise.id)
            .options(joinedload(Need.owner), joinedload(Need.department))
            .order_by(Need.status.not_in(OPEN_NEED_STATUSES), Need.due_on, Need.id))


def follow_ups_of(enterprise: Enterprise) -> Select:
    """The enterprise's follow-ups, open ones first by due date."""
    return (select(FollowUp).where(FollowUp.enterprise_id == enterprise.id)
            .options(joinedload(FollowUp.assignee))
            .order_by(FollowUp.done_at.is_not(None), FollowUp.due_on, FollowUp.id))


def visit_history(visit: Visit) -> list:
    """The audit events of a visit, newest first."""
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "visits", AuditEvent.entity_id == visit.id).order_by(AuditEvent.at.desc())))


def actor_names(events) -> dict[int, str]:
    """{user id: name} of the people behind audit events (one query), to show names rather than usernames."""
    ids = {e.actor_id for e in events if e.actor_id}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def need_comments(need: Need, *, enterprise_view: bool) -> list:
    """The need's comments, oldest first; for the enterprise only those visible to it."""
    from crm.service.models import NeedComment

    stmt = (select(NeedComment).where(NeedComment.need_id == need.id).options(joinedload(NeedComment.author))
            .order_by(NeedComment.created_at, NeedComment.id))
    if enterprise_view:
        stmt = stmt.where(NeedComment.visible_to_enterprise.is_(True))
    return list(db.session.scalars(stmt))


def need_history(need: Need) -> list:
    """The audit events of a need (raised, edited, status changes) with its referrals' and call-backs', oldest
    first."""
    from crm.referrals.queries import need_timeline_clause

    return list(db.session.scalars(select(AuditEvent).where(need_timeline_clause(need))
                                   .order_by(AuditEvent.at, AuditEvent.id)))


# --- the needs board and lists ---------------------------------------------------------------------

@dataclass
class NeedFilter:
    """The needs list's filters, as read from the query string."""

    q: str = ""
    status: str = "open"  # "open" = open or in progress, "" = all, "closed" = any closed status, or one status
    category: str = ""
    region_id: int | None = None
    owner: str = ""  # "" = anyone, "me", an owner's id (text), "none" = no owner
    overdue: bool = False
    age: int | None = None  # raised at least this many days ago
    enterprise_id: int | None = None


def _open_clause():
    # the statuses as literals, exactly as ix_needs_open_due's WHERE says: SQLite uses a partial index only for a
    # query whose WHERE has the same term (bound parameters it cannot compare)
    return Need.status.in_([literal(s.value, literal_execute=True) for s in OPEN_NEED_STATUSES])


def _need_status_clause(status: str):
    if status == "open":
        return _open_clause()
    if status == "closed":
        return Need.status.in_(CLOSED_NEED_STATUSES)
    if status in NEED_STATUS_LABELS:
        return Need.status == status
    return None


def _need_filters(user, f: NeedFilter, *, with_status: bool = True, with_category: bool = True) -> list:
    today = clock.today()
    clauses = [Enterprise.archived_at.is_(None)]
    if f.q:
        clauses.append(or_(Need.title.contains(f.q, autoescape=True), Enterprise.name.contains(f.q, autoescape=True)))
    if with_status and (clause := _need_status_clause(f.status)) is not None:
        clauses.append(clause)
    if with_category and f.category:
        clauses.append(Need.category == f.category)
    if f.region_id:
        clauses.append(Enterprise.region_id.in_(subtree_ids(f.region_id)))
    if f.owner == "me":
        clauses.append(Need.owner_id == user.id)
    elif f.owner == "none":
        clauses.append(Need.owner_id.is_(None))
    elif f.owner.isdigit():
        clauses.append(Need.owner_id == int(f.owner))
    if f.overdue:
        clauses += [_open_clause(), Need.due_on < today]
    if f.age:
        clauses.append(Need.raised_on <= today - timedelta(days=f.age))
    if f.enterprise_id:
        clauses.append(Need.enterprise_id == f.enterprise_id)
    return clauses


def needs_query(user, f: NeedFilter) -> Select:
    """Needs in `user`'s scope matching the filter, overdue first then by due date, with what the list shows."""
    stmt = scope_enterprises(select(Need).join(Need.enterprise)
                             .options(joinedload(Need.enterprise), joinedload(Need.owner), joinedload(Need.department))
                             .where(*_need_filters(user, f)), user)
    if f.status == "open" or f.overdue:  # all open: by due date alone, which ix_needs_open_due answers
        # SQLite's planner took ix_needs_status_due for the IN and sorted every open need (250 ms for a city at
        # province scale, 1 ms read in due order); PostgreSQL picks the partial index itself
        return stmt.order_by(Need.due_on, Need.id).with_hint(Need, "INDEXED BY ix_needs_open_due", "sqlite")
    return stmt.order_by(Need.status.not_in(OPEN_NEED_STATUSES), Need.due_on, Need.id)


def needs_total(f: NeedFilter, board: dict[tuple[str, str], int]) -> int:
    """How many needs the list holds, from the board's counts (the same filters plus status and category)."""
    if f.status == "open":
        statuses = set(OPEN_NEED_STATUSES)
    elif f.status == "closed":
        statuses = set(CLOSED_NEED_STATUSES)
    elif f.status:
        statuses = {f.status}
    else:
        statuses = set(NEED_STATUS_LABELS)
    return sum(n for (category, status), n in board.items()
               if status in statuses and (not f.category or category == f.category))


def needs_board(user, f: NeedFilter) -> dict[tuple[str, str], int]:
    """{(category, status): count} of the needs matching the filter's other criteria (one grouped query)."""
    stmt = (select(Need.category, Need.status, func.count()).join(Need.enterprise)
            .where(*_need_filters(user, f, with_status=False, with_category=False))
            .group_by(Need.category, Need.status))
    if f.overdue:  # the open needs due before today: a range of the partial index (SQLite took the status index)
        stmt = stmt.with_hint(Need, "INDEXED BY ix_needs_open_due", "sqlite")
    return {(c, s): n for c, s, n in db.session.execute(scope_enterprises(stmt, user))}


def needs_board_counted(user, f: NeedFilter) -> tuple[dict[tuple[str, str], int], object]:
    """(the board, None) counted now; or, for a manager's or admin's board of more than NEEDS_BOARD_LIVE_MAX needs
    filtered by region alone, (the board, when counted) from the scheduler's 10-minute roll-up (crm.pipeline):
    grouping a city's or the province's hundreds of thousands of needs on every view costs 50–400 ms, and a count
    minutes old is what such an overview needs. The list below the board is always read live."""
    from flask import current_app

    from crm.core import clock

    only_region = not (f.q or f.owner or f.overdue or f.age or f.enterprise_id)
    if not only_region or user.role not in (Role.ADMIN, Role.MANAGER):
        return needs_board(user, f), None
    from crm.pipeline.queries import rollup

    today = clock.today()
    rolled, as_of = rollup(today.year, today)
    if rolled is None:
        return needs_board(user, f), None
    if user.role == Role.ADMIN:
        allowed = set(subtree_ids(f.region_id)) if f.region_id else None
    else:
        allowed = set(subtree_ids(user.region_id)) if user.region_id else set()
        if f.region_id:
            allowed &= set(subtree_ids(f.region_id))
    board: dict[tuple[str, str], int] = {}
    for (region_id, category, status), n in rolled["needs_board"].items():
        if allowed is None or region_id in allowed:
            board[(category, status)] = board.get((category, status), 0) + n
    if sum(board.values()) <= current_app.config["NEEDS_BOARD_LIVE_MAX"]:
        return needs_board(user, f), None  # small enough to count exactly, now
    return board, as_of


def owner_choices(user) -> list[tuple[int, str]]:
    """(id, name) of the officers and managers in `user`'s scope, for the needs list's owner filter."""
    stmt = select(User).where(User.role.in_((Role.OFFICER, Role.MANAGER)), User.active.is_(True))
    if user.role != Role.ADMIN:
        stmt = stmt.where(User.region_id.in_(subtree_ids(user.region_id)))
    return [(u.id, u.name) for u in db.session.scalars(stmt.order_by(User.name, User.id))]


# --- follow-up lists -------------------------------------------------------------------------------

FOLLOW_UP_STATES = ("open", "overdue", "today", "week", "done", "all")


def follow_ups_query(user, state: str = "open", assignee: str = "me", enterprise_id: int | None = None) -> Select:
    """Follow-ups in `user`'s scope: by state (open, overdue, due today, this week, done, all) and assignee."""
    today = clock.today()
    stmt = (select(FollowUp).join(FollowUp.enterprise)
            .options(joinedload(FollowUp.enterprise), joinedload(FollowUp.assignee), joinedload(FollowUp.need))
            .where(Enterprise.archived_at.is_(None)))
    if state == "done":
        stmt = stmt.where(FollowUp.done_at.is_not(None)).order_by(FollowUp.done_at.desc(), FollowUp.id.desc())
    else:
        if state != "all":
            stmt = stmt.where(FollowUp.done_at.is_(None))
        if state == "overdue":
            stmt = stmt.where(FollowUp.due_on < today)
        elif state == "today":
            stmt = stmt.where(FollowUp.due_on <= today)
        elif state == "week":
            stmt = stmt.where(FollowUp.due_on <= today + timedelta(days=7))
        stmt = stmt.order_by(FollowUp.done_at.is_not(None), FollowUp.due_on, FollowUp.id)
    if assignee == "me":
        stmt = stmt.where(FollowUp.assignee_id == user.id)
    elif assignee.isdigit():
        stmt = stmt.where(FollowUp.assignee_id == int(assignee))
    if enterprise_id:
        stmt = stmt.where(FollowUp.enterprise_id == enterprise_id)
    return scope_enterprises(stmt, user)


def referred_counts() -> dict[int, int]:
    """{department id: needs referred to it} (the departments page shows what taking one out of use affects)."""
    rows = db.session.execute(select(Need.department_id, func.count()).where(Need.department_id.is_not(None))
                              .group_by(Need.department_id))
    return {department_id: n for department_id, n in rows}


# --- the enterprise timeline ----------------------------------------------------------------------

TIMELINE_KINDS = ("visit", "need", "follow_up", "certification", "application", "assignment", "figures")
# Each source contributes at most this many of its latest entries (an enterprise has far fewer in practice).
TIMELINE_SOURCE_LIMIT = 1000


@dataclass
class TimelineEntry:
    """One line of the enterprise timeline: what happened, when, by whom, and where to read more."""

    kind: str
    on: date
    at: datetime | None
    event: str  # a code the template words: visit, need_raised, need_status, follow_up, follow_up_done, …
    title: str = ""
    detail: dict | None = None
    actor: str = ""
    link: tuple[str, dict] | None = None  # (endpoint, values)


def _sort_key(entry: TimelineEntry):
    moment = entry.at.timestamp() if entry.at else 0.0
    return (entry.on, moment)


def timeline(enterprise: Enterprise, kinds: set[str] | None = None) -> list[TimelineEntry]:
    """Everything that happened to the enterprise, newest first: one query per kind of record, no N+1."""
    from crm.ladder.models import TierEvent

    kinds = set(kinds or TIMELINE_KINDS)
    eid = enterprise.id
    out: list[TimelineEntry] = []
    limit = TIMELINE_SOURCE_LIMIT
    if "visit" in kinds:
        rows = db.session.execute(
            select(Visit.id, Visit.visited_on, Visit.created_at, Visit.mode, Visit.summary, User.name)
            .join(User, User.id == Visit.officer_id).where(Visit.enterprise_id == eid)
            .order_by(Visit.visited_on.desc()).limit(limit))
        out += [TimelineEntry("visit", on, at, "visit", title=summary, detail={"mode": mode}, actor=name,
                              link=("service.visit_detail", {"visit_id": vid}))
                for vid, on, at, mode, summary, name in rows]
    if "need" in kinds:
        rows = db.session.execute(
            select(Need.id, Need.raised_on, Need.created_at, Need.title, Need.category).where(Need.enterprise_id == eid)
            .order_by(Need.raised_on.desc()).limit(limit))
        out += [TimelineEntry("need", on, at, "need_raised", title=title, detail={"category": category},
                              link=("service.need_detail", {"need_id": nid}))
                for nid, on, at, title, category in rows]
        events = list(db.session.scalars(select(AuditEvent).where(
            AuditEvent.enterprise_id == eid, AuditEvent.entity_type == "needs", AuditEvent.action.in_(("status",
                                                                                                      "update")))
            .order_by(AuditEvent.at.desc()).limit(limit)))
        names = actor_names(events)
        out += [TimelineEntry("need", local_date(ev.at), ev.at, "need_status" if ev.action == "status" else
                              "need_changed", title=ev.summary.split(" · ", 1)[-1], detail=ev.changes or {},
                              actor=names.get(ev.actor_id, ev.actor_label),
                              link=("service.need_detail", {"need_id": ev.entity_id}))
                for ev in events]
    if "follow_up" in kinds:
        rows = db.session.execute(
            select(FollowUp.need_id, FollowUp.created_at, FollowUp.due_on, FollowUp.action, FollowUp.done_at,
                   FollowUp.done_note, User.name)
            .join(User, User.id == FollowUp.assignee_id).where(FollowUp.enterprise_id == eid)
            .order_by(FollowUp.created_at.desc()).limit(limit))
        for need_id, created, due, action, done_at, note, name in rows:
            link = ("service.need_detail", {"need_id": need_id}) if need_id else None
            out.append(TimelineEntry("follow_up", local_date(created), created, "follow_up", title=action,
                                     detail={"due_on": due}, actor=name, link=link))
            if done_at is not None:
                out.append(TimelineEntry("follow_up", local_date(done_at), done_at, "follow_up_done", title=action,
                                         detail={"note": note}, actor=name, link=link))
    if "certification" in kinds:
        rows = db.session.execute(
            select(TierEvent.occurred_on, TierEvent.created_at, TierEvent.kind, TierEvent.tier)
            .where(TierEvent.enterprise_id == eid).order_by(TierEvent.occurred_on.desc()).limit(limit))
        out += [TimelineEntry("certification", on, at, "certification", detail={"kind": kind, "tier": tier})
                for on, at, kind, tier in rows]
    if "application" in kinds:  # the certification cycle's applications: filed and every move (crm.cycle)
        from crm.cycle.models import STAGE_LABELS

        events = list(db.session.scalars(select(AuditEvent).where(
            AuditEvent.enterprise_id == eid, AuditEvent.entity_type == "applications")
            .order_by(AuditEvent.at.desc()).limit(limit)))
        names = actor_names(events)
        for ev in events:
            old, new = (ev.changes or {}).get("stage") or [None, "intent"]
            out.append(TimelineEntry("application", local_date(ev.at), ev.at, "application", title=ev.summary,
                                     detail={"old": str(STAGE_LABELS.get(old, "")) if old else "",
                                             "new": str(STAGE_LABELS.get(new, new))},
                                     actor=names.get(ev.actor_id, ev.actor_label)))
    if "assignment" in kinds:
        rows = db.session.execute(
            select(Assignment.starts_on, Assignment.ends_on, Assignment.created_at, User.name)
            .join(User, User.id == Assignment.officer_id).where(Assignment.enterprise_id == eid)
            .order_by(Assignment.starts_on.desc()).limit(limit))
        for starts, ends, created, name in rows:
            out.append(TimelineEntry("assignment", starts, created, "assignment_start", actor=name))
            if ends is not None:
                out.append(TimelineEntry("assignment", ends, None, "assignment_end", actor=name))
    if "figures" in kinds:
        events = list(db.session.scalars(select(AuditEvent).where(
            AuditEvent.enterprise_id == eid, AuditEvent.entity_type == "annual_figures")
            .order_by(AuditEvent.at.desc()).limit(limit)))
        names = actor_names(events)
        out += [TimelineEntry("figures", local_date(ev.at), ev.at, "figures", title=ev.summary,
                              detail={"action": ev.action, "fields": sorted(ev.changes or {})},
                              actor=names.get(ev.actor_id, ev.actor_label))
                for ev in events]
    out.sort(key=_sort_key, reverse=True)
    return out


# --- the officer's workbench ------------------------------------------------------------------------

WORKBENCH_LIMIT = 20


@dataclass
class Workbench:
    """What an officer's day starts from; each list is capped, with its full count for the "all" link."""

    due_follow_ups: list
    due_follow_ups_total: int
    upcoming_follow_ups: list
    open_needs: list
    open_needs_total: int
    overdue_needs_total: int
    stale: list  # (enterprise, last visit date or None)
    stale_total: int
    expiring: list  # certifications
    enterprises_total: int


def workbench(user, *, stale_days: int, expiry_days: int = 180) -> Workbench:
    """The workbench of `user`: due follow-ups, open needs, enterprises not visited lately, expiring certificates."""
    from crm.ladder.models import Certification, CertificationStatus

    today = clock.today()
    mine_open = select(FollowUp).where(FollowUp.assignee_id == user.id, FollowUp.done_at.is_(None))
    due_stmt = mine_open.where(FollowUp.due_on <= today)
    due = list(db.session.scalars(due_stmt.options(joinedload(FollowUp.enterprise), joinedload(FollowUp.need))
                                  .order_by(FollowUp.due_on, FollowUp.id).limit(WORKBENCH_LIMIT)))
    due_total = db.session.scalar(select(func.count()).select_from(due_stmt.subquery()))
    upcoming = list(db.session.scalars(
        mine_open.where(FollowUp.due_on > today, FollowUp.due_on <= today + timedelta(days=7))
        .options(joinedload(FollowUp.enterprise), joinedload(FollowUp.need))
        .order_by(FollowUp.due_on, FollowUp.id).limit(WORKBENCH_LIMIT)))

    needs_stmt = select(Need).where(Need.owner_id == user.id, Need.status.in_(OPEN_NEED_STATUSES))
    open_needs = list(db.session.scalars(needs_stmt.options(joinedload(Need.enterprise))
                                         .order_by(Need.due_on, Need.id).limit(WORKBENCH_LIMIT)))
    needs_total, overdue_total = db.session.execute(
        select(func.count(), func.count().filter(Need.due_on < today))
        .where(Need.owner_id == user.id, Need.status.in_(OPEN_NEED_STATUSES))).one()

    mine = my_enterprises(user).subquery()
    # Each of the officer's enterprises' last visit, read off ix_visits_enterprise_date (a correlated max),
    # not a GROUP BY over the whole visits table.
    last = (select(func.max(Visit.visited_on)).where(Visit.enterprise_id == Enterprise.id)
            .correlate(Enterprise).scalar_subquery().label("last"))
    inner = my_enterprises(user).add_columns(last).order_by(None).subquery()
    served = aliased(Enterprise, inner)
    stale_stmt = select(served, inner.c.last).where(
        or_(inner.c.last.is_(None), inner.c.last < today - timedelta(days=stale_days)))
    stale = [(e, last_on) for e, last_on in db.session.execute(
        stale_stmt.order_by(inner.c.last.is_not(None), inner.c.last, inner.c.name).limit(WORKBENCH_LIMIT))]
    stale_total = db.session.scalar(select(func.count()).select_from(stale_stmt.subquery()))
    enterprises_total = db.session.scalar(select(func.count()).select_from(mine))

    expiring = list(db.session.scalars(
        select(Certification).join(mine, mine.c.id == Certification.enterprise_id)
        .where(Certification.status == CertificationStatus.ACTIVE, Certification.expires_on.is_not(None),
               Certification.expires_on >= today, Certification.expires_on <= today + timedelta(days=expiry_days))
        .options(joinedload(Certification.enterprise))
        .order_by(Certification.expires_on, Certification.id).limit(WORKBENCH_LIMIT)))
    return Workbench(due, due_total, upcoming, open_needs, needs_total, overdue_total, stale, stale_total, expiring,
                     enterprises_total)


def load_counts(user, officer_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{officer id: (open needs they own, overdue follow-ups of theirs)}, in `user`'s scope (two grouped queries)."""
    if not officer_ids:
        return {}
    today = clock.today()
    scoped = scope_enterprises(select(Enterprise.id), user).where(Enterprise.archived_at.is_(None))
    needs = dict(db.session.execute(
        select(Need.owner_id, func.count()).where(Need.owner_id.in_(officer_ids),
                                                  Need.status.in_(OPEN_NEED_STATUSES),
                                                  Need.enterprise_id.in_(scoped)).group_by(Need.owner_id)).all())
    overdue = dict(db.session.execute(
        select(FollowUp.assignee_id, func.count()).where(FollowUp.assignee_id.in_(officer_ids),
                                                         FollowUp.done_at.is_(None), FollowUp.due_on < today,
                                                         FollowUp.enterprise_id.in_(scoped))
        .group_by(FollowUp.assignee_id)).all())
    return {i: (needs.get(i, 0), overdue.get(i, 0)) for i in officer_ids}


def service_summary(enterprise: Enterprise, *, limit: int = 5) -> dict:
    """The enterprise page's service card: open needs, open follow-ups, latest visits (with their totals)."""
    open_needs = needs_of(enterprise).where(Need.status.in_(OPEN_NEED_STATUSES))
    open_follow_ups = follow_ups_of(enterprise).where(FollowUp.done_at.is_(None))
    visits = visits_of(enterprise)
    count = lambda stmt: db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))  # noqa: E731
    return {
        "open_needs": list(db.session.scalars(open_needs.limit(limit)).unique()),
        "open_needs_total": count(open_needs),
        "open_follow_ups": list(db.session.scalars(open_follow_ups.limit(limit)).unique()),
        "visits": list(db.session.scalars(visits.limit(limit)).unique()),
        "visits_total": count(visits),
    }


# --- who is told (the scheduler's jobs) --------------------------------------------------------------

def enterprise_users(enterprise: Enterprise) -> list[User]:
    """The enterprise's active user accounts (its contact people who sign in)."""
    return list(db.session.scalars(select(User).where(
        User.role == Role.ENTERPRISE, User.enterprise_id == enterprise.id, User.active.is_(True)).order_by(User.id)))


def managers_over(enterprise: Enterprise) -> list[User]:
    """Active managers whose region holds the enterprise (its county's, its city's, the province's)."""
    ancestors = [int(i) for i in enterprise.region.path.strip("/").split("/") if i]
    return list(db.session.scalars(select(User).where(
        User.role == Role.MANAGER, User.active.is_(True), User.region_id.in_(ancestors)).order_by(User.id)))
