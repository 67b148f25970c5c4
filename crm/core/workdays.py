"""Working days: the one function every deadline in working days goes through.

A working day is Monday to Friday, unless the admin's calendar marks it a public holiday (放假), plus any
Saturday or Sunday the calendar marks a make-up working day (调休上班). The calendar is kept per year by the
admin (crm.holidays: pages and an Excel/CSV import); a year with no entries counts weekends only.

The arithmetic is pure (`Calendar` holds the two sets of dates), so features, jobs and tests share it; the
small model lives here, in core, so that any feature can load the calendar without importing another feature.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.audit import ACTION_LABELS, ENTITY_LABELS
from crm.core.db import Base


class DayKind(StrEnum):
    """What a calendar entry says about its date."""

    HOLIDAY = "holiday"  # a public holiday (or its bridging days): no work, even on a weekday
    WORKDAY = "workday"  # 调休: a Saturday or Sunday worked to make up for a holiday


DAY_KIND_LABELS = {DayKind.HOLIDAY: _l("Public holiday (off)"), DayKind.WORKDAY: _l("Make-up working day")}


class CalendarDay(Base):
    """One date of the admin's working-day calendar: a holiday off, or a make-up working day."""

    __tablename__ = "calendar_days"
    __table_args__ = (sa.CheckConstraint("kind IN ('holiday', 'workday')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    name: Mapped[str] = mapped_column(sa.String(40), default="")

    @property
    def kind_label(self):
        """The kind in the user's language."""
        return DAY_KIND_LABELS.get(self.kind, self.kind)


ENTITY_LABELS.update({"calendar_days": _l("Calendar day")})
ACTION_LABELS.setdefault("import", _l("Imported"))


@dataclass(frozen=True)
class Calendar:
    """The exceptions to Monday–Friday: holidays off and weekend days worked."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day."""
        if day in self.holidays:
            return False
        return day.weekday() < 5 or day in self.workdays


def load_calendar(session=None) -> Calendar:
    """The admin's calendar from the database (a few dozen rows a year)."""
    if session is None:
        from crm.extensions import db

        session = db.session
    holidays, workdays = set(), set()
    for day, kind in session.execute(sa.select(CalendarDay.day, CalendarDay.kind)):
        (holidays if kind == DayKind.HOLIDAY else workdays).add(day)
    return Calendar(frozenset(holidays), frozenset(workdays))


def add_working_days(start: date, n: int, calendar: Calendar | None = None) -> date:
    """The n-th working day after `start` (`start` itself not counted); n ≤ 0 counts backwards, 0 is `start`.

    A referral made on Friday with 1 working day is due on Monday (or the next working day after a holiday).
    """
    calendar = calendar if calendar is not None else load_calendar()
    day, step, left = start, (1 if n >= 0 else -1), abs(n)
    while left:
        day += timedelta(days=step)
        if calendar.is_working_day(day):
            left -= 1
    return day


def working_days_between(a: date, b: date, calendar: Calendar | None = None) -> int:
    """Working days after `a` up to and including `b` (negative when b < a): add_working_days(a, n) == b gives n
    when b is a working day. A deadline `due` passed on `today` by working_days_between(due, today) days."""
    calendar = calendar if calendar is not None else load_calendar()
    if b < a:
        return -working_days_between(b, a, calendar)
    return sum(1 for i in range(1, (b - a).days + 1) if calendar.is_working_day(a + timedelta(days=i)))
