"""Demo service work: assignments (包保关系), referral departments, the policy list, a year of visits.

Assignments: most operating enterprises served by the officer of their county.

Enterprises in counties without a demo officer stay unassigned, and so does about one in eight
elsewhere (the registry's "not assigned" filter then has something to show). An enterprise that
has ever had an assignment is left as it is, so running the load again changes nothing.

Service work: the glossary's departments and a dozen real-looking policies (windows relative to
today: some open, some closed, some not yet open); then a year of each officer's visits to the
enterprises they serve, the needs raised on them with their status history, and follow-ups,
all written through crm.service.services (validated and audited as an officer would), each
enterprise from its own stream seeded by its USCC. Every officer ends with a desk to work on:
follow-ups due today, overdue and due this week, open needs, and enterprises not visited for
90 days. Written once: when the demo enterprises have visits, the step adds nothing.
"""
from __future__ import annotations

import random
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import event, func, select
from sqlalchemy.orm import joinedload, scoped_session

from crm.auth.models import User
from crm.core import clock
from crm.core.audit import AuditEvent
from crm.core.policy import Role
from crm.demo import service_texts as texts
from crm.demo.registry import LAST_YEAR, Tally, county_of
from crm.enterprises.models import Enterprise, EnterpriseStatus
from crm.policies import services as policy_services
from crm.policies.models import Policy
from crm.service import services as service_services
from crm.service.models import (
    Assignment,
    Department,
    FollowUp,
    FollowUpSource,
    Need,
    NeedCategory,
    NeedStatus,
    Visit,
    VisitMode,
)


def _stable(uscc: str) -> int:
    """A number fixed by the USCC (independent of ids and of the count loaded)."""
    return zlib.crc32(uscc.encode())


def load_assignments(session, users: dict[str, User], enterprise_ids: list[int], today: date,
                     tally: Tally) -> None:
    """Assign the demo's operating enterprises that never had an assignment to their county's officer."""
    officers = {u.region.code: u for u in sorted(users.values(), key=lambda u: u.username)
                if u.role == Role.OFFICER and u.region is not None}
    assigner = users.get("manager") or users.get("admin")
    seen = set(session.scalars(select(Assignment.enterprise_id).where(Assignment.enterprise_id.in_(enterprise_ids))))
    enterprises = session.scalars(select(Enterprise).options(joinedload(Enterprise.region)).where(
        Enterprise.id.in_(enterprise_ids), Enterprise.archived_at.is_(None),
        Enterprise.status == EnterpriseStatus.ACTIVE).order_by(Enterprise.uscc))
    for enterprise in enterprises:
        if enterprise.id in seen:
            tally.existing += 1
            continue
        officer = officers.get(county_of(enterprise.region.code).code)
        if officer is None or _stable(enterprise.uscc) % 8 == 0:
            continue
        session.add(Assignment(enterprise_id=enterprise.id, officer_id=officer.id,
                               starts_on=today - timedelta(days=30 + _stable(enterprise.uscc) % 700),
                               assigned_by_id=assigner.id if assigner is not None else None))
        tally.created += 1
    session.flush()


# --- departments, policies ------------------------------------------------------------------

# The glossary's referral departments (migration 0006 seeds the same list).
DEPARTMENTS = ("发展改革委", "工业和信息化局", "人力资源和社会保障局", "财政局", "金融办/地方金融监管局",
               "市场监管局（知识产权）", "自然资源局", "税务局", "园区管委会", "其他")


def load_departments(session, tally: Tally) -> dict[str, Department]:
    """Ensure the glossary's referral departments exist (by name); return every department by name."""
    existing = {d.name: d for d in session.scalars(select(Department))}
    for position, name in enumerate(DEPARTMENTS):
        if name in existing:
            tally.existing += 1
            continue
        existing[name] = Department(name=name, position=position, active=True)
        session.add(existing[name])
        tally.created += 1
    session.flush()
    return existing


def _days_from(today: date, offset: int | None) -> date | None:
    return None if offset is None else today + timedelta(days=offset)


def load_policies(session, today: date, tally: Tally) -> list[tuple[Policy, int]]:
    """Add the demo policies missing from the catalogue (by title); return (policy, weight) of every demo policy."""
    existing = {p.title: p for p in session.scalars(select(Policy).where(
        Policy.title.in_([spec.title for spec in texts.POLICIES])))}
    found = []
    for spec in texts.POLICIES:
        policy = existing.get(spec.title)
        if policy is None:
            policy = policy_services.create_policy(
                {"title": spec.title, "issuer": spec.issuer, "document_no": spec.document_no, "summary": spec.summary,
                 "opens_on": _days_from(today, spec.opens), "closes_on": _days_from(today, spec.closes),
                 "active": spec.active}, actor="demo")
            tally.created += 1
        else:
            tally.existing += 1
        found.append((policy, spec.weight))
    return found


# --- visits, needs, follow-ups --------------------------------------------------------------

@dataclass
class ServiceTallies:
    """Created / existing counts of the service work's tables."""

    departments: Tally = field(default_factory=Tally)
    policies: Tally = field(default_factory=Tally)
    visits: Tally = field(default_factory=Tally)
    needs: Tally = field(default_factory=Tally)
    follow_ups: Tally = field(default_factory=Tally)


VISIT_MODES = (VisitMode.ONSITE,) * 10 + (VisitMode.PHONE,) * 5 + (VisitMode.VIDEO,) * 2 + (
    VisitMode.EVENT,) * 2 + (VisitMode.WALK_IN,) * 1
NEED_CATEGORIES = (
    (NeedCategory.FINANCE, 18), (NeedCategory.CERTIFICATION, 16), (NeedCategory.POLICY, 14), (NeedCategory.TALENT, 10),
    (NeedCategory.TECHNOLOGY, 9), (NeedCategory.IP, 8), (NeedCategory.PLATFORM, 6),
    (NeedCategory.COMMERCIALISATION, 6), (NeedCategory.COOPERATION, 5), (NeedCategory.PREMISES, 5),
    (NeedCategory.OTHER, 3))
YEAR_DAYS = 365
# Visits older than this may still cite the superseded policy (before its successor was known to officers).
SUPERSEDED_DAYS = 300
STALE_DAYS = 90  # enterprises not visited for longer than this show on the officer's "not visited" list
# Each officer's desk at the end of the load: at least this many open follow-ups due today, overdue,
# due later this week, and open needs.
DESK = {"due_today": 2, "overdue": 2, "due_week": 2, "open_needs": 3}


class _Story:
    """The moment the demo's story is at: audit events and new rows recorded meanwhile are dated to it.

    The services stamp what they write with the real clock; the demo tells a year of work in one
    run, so each step moves this moment and a session hook dates what the step adds.
    """

    def __init__(self, session) -> None:
        self.session = session
        self.at: datetime | None = None
        self.added: list = []

    def day(self, day: date, rng: random.Random) -> None:
        """Move to office hours (09:00–17:59 in the bureau's zone) of `day`."""
        local = datetime(day.year, day.month, day.day, rng.randint(9, 17), rng.randint(0, 59), tzinfo=clock.zone())
        self.at = local.astimezone(UTC)
        self.added = []  # a new step: what the last one added is settled

    def _added(self, session, obj) -> None:
        if self.at is None:
            return
        if isinstance(obj, AuditEvent):
            obj.at = self.at
        elif isinstance(obj, (Visit, Need, FollowUp)):
            obj.created_at = obj.updated_at = self.at
        self.added.append(obj)

    def take(self, kind) -> list:
        """The rows of `kind` the current step added (in order)."""
        return [obj for obj in self.added if isinstance(obj, kind)]

    def _target(self):
        # The session itself, not the scoped_session: a hook on that would date every session's rows.
        return self.session() if isinstance(self.session, scoped_session) else self.session

    def __enter__(self) -> _Story:
        event.listen(self._target(), "transient_to_pending", self._added)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self._target(), "transient_to_pending", self._added)


def _fill(template: str, rng: random.Random, **fixed) -> str:
    values = {"year": LAST_YEAR, "pct": rng.choice(("2.8", "3.5", "4.2", "4.9", "5.6", "6.3", "7.1")),
              "n": rng.randint(2, 8), "staff": rng.randint(6, 40), "small": rng.choice((5, 8, 12, 15, 20)),
              "amount": rng.choice((80, 150, 200, 300, 500, 800, 1000, 1500)), "area": rng.choice((800, 1500, 3000))}
    return template.format(**{**values, **fixed})


def _people(rng: random.Random) -> str:
    people = [f"{rng.choice(texts.SURNAMES)}{rng.choice(texts.GIVEN)}（{rng.choice(texts.TITLES)}）"
              for _ in range(rng.choice((1, 1, 2, 2, 3)))]
    return "、".join(people)


def _summary(mode: str, rng: random.Random) -> str:
    opening = rng.choice(texts.OPENINGS[mode])
    topics = rng.sample(texts.TOPICS, rng.choice((1, 2)))
    return (f"{opening}，{'，'.join(_fill(t, rng) for t in topics)}。"
            f"{_fill(rng.choice(texts.FINDINGS), rng)}。{rng.choice(texts.CLOSINGS)}")


def _numbers(description: str) -> dict:
    """The amount or count a need's description named, so that its resolution names the same."""
    found = re.search(r"(\d+)(万元|名|件|项)", description)
    if found is None:
        return {}
    return {"amount": found.group(1)} if found.group(2) == "万元" else {"n": found.group(1)}


def _weighted(rng: random.Random, pairs):
    items, weights = zip(*pairs, strict=True)
    return rng.choices(items, weights=weights)[0]


# The resolution the demo closes a need with, by (category, title): it answers what was asked.
_RESOLUTIONS = {(category, title): resolution for category, needs in texts.NEEDS.items()
                for title, _, resolution in needs}


def _need_data(rng: random.Random) -> dict:
    category = _weighted(rng, NEED_CATEGORIES)
    title, description, _ = rng.choice(texts.NEEDS[category])
    return {"category": category, "title": title, "description": _fill(description, rng)}


@dataclass
class _Desk:
    """What an officer has open at the end of the load (to top it up to DESK)."""

    due_today: int = 0
    overdue: int = 0
    due_week: int = 0
    open_needs: int = 0


class _Work:
    """One run of the service work: the officers' visits over the past year, their needs and follow-ups."""

    def __init__(self, session, story: _Story, today: date, policies, departments, tallies: ServiceTallies):
        self.session, self.story, self.today = session, story, today
        self.policies = [(p, w) for p, w in policies]
        self.departments = departments
        self.tallies = tallies
        self.desks: dict[int, _Desk] = defaultdict(_Desk)

    # -- visits

    def visit_dates(self, assignment: Assignment, rng: random.Random) -> list[date]:
        """The days the officer visited: a year's worth (fewer for a recent assignment); some lately, some not."""
        start = max(self.today - timedelta(days=YEAR_DAYS), assignment.starts_on)
        span = (self.today - start).days
        stale = rng.random() < 0.22  # not visited in the last STALE_DAYS days
        last = self.today - timedelta(days=rng.randint(STALE_DAYS + 1, 300) if stale else rng.randint(0, 75))
        if last < start:
            return []
        count = min(2 + rng.randint(0, 5), 1 + span // 30)
        days = {last} | {start + timedelta(days=rng.randint(0, (last - start).days)) for _ in range(count - 1)}
        return sorted(days)

    def cited(self, day: date, rng: random.Random) -> list[int]:
        """Policies explained on a visit of `day`: active ones, or the superseded one on an old visit."""
        usable = [(p, w) for p, w in self.policies if p.active or (self.today - day).days > SUPERSEDED_DAYS]
        chosen = {_weighted(rng, usable).id for _ in range(rng.choice((0, 1, 1, 2, 2, 3)))}
        return sorted(chosen)

    def visit(self, assignment: Assignment, day: date, rng: random.Random) -> None:
        """Record one visit with the needs it raised and its follow-up, then their later history."""
        officer, enterprise = assignment.officer, assignment.enterprise
        mode = rng.choice(VISIT_MODES)
        needs = [_need_data(rng) for _ in range(rng.choices((0, 1, 2), weights=(60, 36, 4))[0])]
        follow_up = None
        if rng.random() < 0.3:
            follow_up = {"due_on": day + timedelta(days=rng.randint(5, 30)),
                         "action": rng.choice(texts.FOLLOW_UP_ACTIONS)}
        self.story.day(day, rng)
        service_services.record_visit(
            enterprise, {"visited_on": day, "mode": mode, "people_met": _people(rng), "summary": _summary(mode, rng),
                         "policy_ids": self.cited(day, rng)},
            actor=officer, needs=needs, follow_up=follow_up)
        self.tallies.visits.created += 1
        created_needs = self.story.take(Need)
        for follow in self.story.take(FollowUp):
            self.settle_follow_up(follow, officer, day, rng)
        for need in created_needs:
            self.tallies.needs.created += 1
            self.settle_need(need, officer, rng)

    # -- needs

    def settle_need(self, need: Need, officer, rng: random.Random) -> None:
        """Give a need the history its age implies: taken up, then mostly closed, a few still open or overdue."""
        age = (self.today - need.raised_on).days
        fate = rng.random()
        # The older a need, the likelier it is closed; the young ones are mostly still on the desk.
        closed = fate < (0.93 if age > 60 else 0.6 if age > 20 else 0.2)
        taken_up = closed and rng.random() < 0.8 or not closed and rng.random() < 0.5
        day = need.raised_on
        if taken_up:
            day = min(self.today, day + timedelta(days=rng.randint(0, 4)))
            self.story.day(day, rng)
            service_services.change_need_status(need, NeedStatus.IN_PROGRESS, actor=officer)
        if closed:
            limit = max(1, min(age, (need.due_on - need.raised_on).days + 20))
            day = min(self.today, max(day, need.raised_on + timedelta(days=rng.randint(1, limit))))
            self.close_need(need, officer, day, rng)
        elif rng.random() < 0.3:
            self.follow_up_need(need, officer, rng)
        if need.is_open:
            self.desks[officer.id].open_needs += 1

    def close_need(self, need: Need, officer, day: date, rng: random.Random) -> None:
        """Resolve (most), refer to a department (some) or give up on (a few) the need on `day`."""
        self.story.day(day, rng)
        outcome = rng.random()
        if outcome < 0.12:
            name = rng.choice(texts.REFERRALS[need.category])
            service_services.change_need_status(
                need, NeedStatus.REFERRED, actor=officer, department_id=self.departments[name].id,
                resolution=texts.REFERRAL_NOTE.format(department=name))
        elif outcome < 0.17:
            service_services.change_need_status(need, NeedStatus.CANNOT_RESOLVE, actor=officer,
                                                resolution=rng.choice(texts.CANNOT_RESOLVE))
        else:
            service_services.change_need_status(
                need, NeedStatus.RESOLVED, actor=officer,
                resolution=_fill(_RESOLUTIONS[(need.category, need.title)], rng, **_numbers(need.description)),
                satisfaction=rng.choices((3, 4, 5), weights=(15, 40, 45))[0])
        # The service closes on the real today; the story closed it on `day`.
        need.closed_on = day
        need.updated_at = self.story.at
        for audit_event in self.story.take(AuditEvent):
            if "closed_on" in audit_event.changes:
                audit_event.changes = {**audit_event.changes, "closed_on": [None, day.isoformat()]}

    def follow_up_need(self, need: Need, officer, rng: random.Random) -> None:
        """Plan a follow-up on an open need, a few days to two weeks after it was raised."""
        due = need.raised_on + timedelta(days=rng.randint(3, 14))
        self.story.day(need.raised_on, rng)
        action = rng.choice(texts.NEED_FOLLOW_UP_ACTIONS).format(title=need.title)
        follow = service_services.add_follow_up(need.enterprise, {"due_on": due, "action": action}, actor=officer,
                                                need=need, source=FollowUpSource.NEED)
        self.settle_follow_up(follow, officer, need.raised_on, rng)

    # -- follow-ups

    def settle_follow_up(self, follow: FollowUp, officer, planned_on: date, rng: random.Random) -> None:
        """Mostly done around the due date when it has passed; the rest stay open (overdue, due soon)."""
        self.tallies.follow_ups.created += 1
        if follow.due_on < self.today - timedelta(days=2) and rng.random() < 0.88:
            done_on = min(self.today, max(planned_on, follow.due_on + timedelta(days=rng.randint(-5, 2))))
            self.story.day(done_on, rng)
            service_services.complete_follow_up(follow, rng.choice(texts.DONE_NOTES), actor=officer)
            follow.done_at = follow.updated_at = self.story.at
            for audit_event in self.story.take(AuditEvent):
                if "done_at" in audit_event.changes:
                    audit_event.changes = {**audit_event.changes, "done_at": [None, self.story.at.isoformat()]}
            return
        self.count_open(follow)

    def count_open(self, follow: FollowUp) -> None:
        desk = self.desks[follow.assignee_id]
        if follow.due_on == self.today:
            desk.due_today += 1
        elif follow.due_on < self.today:
            desk.overdue += 1
        elif follow.due_on <= self.today + timedelta(days=7):
            desk.due_week += 1

    # -- every officer's desk

    def top_up(self, officer, assignments: list[Assignment], rng: random.Random) -> None:
        """Make sure the officer has follow-ups due today, overdue and due this week, and a few open needs."""
        desk = self.desks[officer.id]
        mine = sorted(assignments, key=lambda a: a.enterprise.uscc)
        if not mine:
            return
        wanted = [(0, DESK["due_today"] - desk.due_today), (-rng.randint(2, 9), DESK["overdue"] - desk.overdue),
                  (rng.randint(1, 6), DESK["due_week"] - desk.due_week)]
        for offset, missing in wanted:
            for _ in range(max(0, missing)):
                enterprise = rng.choice(mine).enterprise
                due = self.today + timedelta(days=offset)
                self.story.day(min(self.today, due) - timedelta(days=rng.randint(3, 10)), rng)
                follow = service_services.add_follow_up(
                    enterprise, {"due_on": due, "action": rng.choice(texts.FOLLOW_UP_ACTIONS)}, actor=officer)
                self.tallies.follow_ups.created += 1
                self.count_open(follow)
        for _ in range(max(0, DESK["open_needs"] - desk.open_needs)):
            enterprise = rng.choice(mine).enterprise
            raised = self.today - timedelta(days=rng.randint(1, 12))
            self.story.day(raised, rng)
            service_services.raise_need(enterprise, {"raised_on": raised, **_need_data(rng)}, actor=officer)
            self.tallies.needs.created += 1
            desk.open_needs += 1


def _rng(*parts: str) -> random.Random:
    """A stream fixed by its parts (a USCC, a user name), like the registry's."""
    return random.Random(zlib.crc32(":".join(("service-work", *parts)).encode()))


def load_service_work(session, enterprise_ids: list[int], policies, departments: dict[str, Department],
                      today: date, tallies: ServiceTallies) -> None:
    """A year of visits, needs and follow-ups by the demo's officers, through the services; once only.

    When the demo enterprises have visits already, the work was loaded before (and officers may
    have added their own since): nothing is added.
    """
    counts = {name: session.scalar(select(func.count()).select_from(model).where(model.enterprise_id.in_(
        enterprise_ids))) for name, model in (("visits", Visit), ("needs", Need), ("follow_ups", FollowUp))}
    if counts["visits"]:
        for name, n in counts.items():
            getattr(tallies, name).existing += n
        return
    assignments = list(session.scalars(
        select(Assignment).options(joinedload(Assignment.enterprise), joinedload(Assignment.officer))
        .where(Assignment.enterprise_id.in_(enterprise_ids), Assignment.ends_on.is_(None))))
    assignments.sort(key=lambda a: a.enterprise.uscc)
    with _Story(session) as story:
        work = _Work(session, story, today, policies, departments, tallies)
        for assignment in assignments:
            rng = _rng(assignment.enterprise.uscc)
            for day in work.visit_dates(assignment, rng):
                work.visit(assignment, day, rng)
        by_officer: dict[int, list[Assignment]] = defaultdict(list)
        for assignment in assignments:
            by_officer[assignment.officer_id].append(assignment)
        for officer_assignments in sorted(by_officer.values(), key=lambda a: a[0].officer.username):
            officer = officer_assignments[0].officer
            work.top_up(officer, officer_assignments, _rng(officer.username))
        session.flush()
