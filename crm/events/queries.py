"""Reads of events: the list near the user's region, an event's attendees in the user's scope."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, extract, select
from sqlalchemy.orm import joinedload, selectinload

from crm.core.policy import Role, can
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import ancestor_ids, nearby_region_filter, scope_enterprises, subtree_ids
from crm.events.models import EVENT_KIND_LABELS, Event, EventAttendee
from crm.extensions import db


@dataclass(frozen=True)
class EventFilter:
    """The event list's search (topic or place), kind and year."""

    q: str = ""
    kind: str = ""
    year: int | None = None


def parse_filter(args) -> EventFilter:
    """The event filter from a query string; unknown values are dropped."""
    kind, year = args.get("kind", ""), args.get("year", "")
    return EventFilter(q=args.get("q", "").strip()[:60], kind=kind if kind in EVENT_KIND_LABELS else "",
                       year=int(year) if year.isdigit() and len(year) == 4 else None)


def events_query(user, f: EventFilter) -> Select:
    """Events organised in the user's region's subtree or above it, newest first."""
    stmt = (select(Event).options(joinedload(Event.region), selectinload(Event.policies))
            .where(nearby_region_filter(Event.region_id, user)))
    if f.q:
        stmt = stmt.where(Event.topic.contains(f.q, autoescape=True) | Event.place.contains(f.q, autoescape=True))
    if f.kind:
        stmt = stmt.where(Event.kind == f.kind)
    if f.year:
        stmt = stmt.where(extract("year", Event.held_on) == f.year)
    return stmt.order_by(Event.held_on.desc(), Event.id.desc())


def get_event_for(user, event_id: int) -> Event | None:
    """The event if `user` sees it, else None (404)."""
    event = db.session.get(Event, event_id)
    if event is None:
        return None
    if user.role == Role.ADMIN or event.region_id in set(subtree_ids(user.region_id)) | set(ancestor_ids(user.region_id)):
        return event
    return None


def can_manage_event(user, event: Event) -> bool:
    """Admins organise every event; a manager those of their region's subtree."""
    if not can(user, "events.manage"):
        return False
    return user.role == Role.ADMIN or event.region_id in subtree_ids(user.region_id)


def attendees(event: Event, user) -> list[EventAttendee]:
    """The event's sign-ups of enterprises in `user`'s scope, by enterprise name (one query)."""
    stmt = (select(EventAttendee).join(Enterprise, Enterprise.id == EventAttendee.enterprise_id)
            .options(joinedload(EventAttendee.enterprise)).where(EventAttendee.event_id == event.id)
            .order_by(Enterprise.name, EventAttendee.id))
    return list(db.session.scalars(scope_enterprises(stmt, user)))


def attendance_counts(event_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{event id: (signed up, attended)} (one query)."""
    from sqlalchemy import Integer, cast, func

    if not event_ids:
        return {}
    rows = db.session.execute(select(EventAttendee.event_id, func.count(), func.sum(cast(EventAttendee.attended, Integer)))
                              .where(EventAttendee.event_id.in_(event_ids)).group_by(EventAttendee.event_id)).all()
    return {eid: (n, int(a or 0)) for eid, n, a in rows}


def enterprise_by_uscc(user, uscc: str) -> Enterprise | None:
    """The enterprise of this USCC if it is in `user`'s scope and not archived."""
    stmt = select(Enterprise).where(Enterprise.uscc == uscc, Enterprise.archived_at.is_(None))
    return db.session.scalar(scope_enterprises(stmt, user))
