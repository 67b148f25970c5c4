"""Demo working-day calendar: 2026 as the State Council set it.

Source: 国务院办公厅关于2026年部分节假日安排的通知 of 2025-11-04 (as published by Xinhua, e.g.
politics.gmw.cn/2025-11/04/content_38391083.htm). The reprints found name no document number, so the
number 国办发明电〔2025〕7号 could not be checked here; the dates below are the notice's own.
A bureau loads another year on the calendar page (Excel/CSV import) or with the same rows by hand.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from crm.core.workdays import CalendarDay, DayKind
from crm.demo.registry import Tally


def _span(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# (name, days off, make-up working days)
HOLIDAYS_2026 = [
    ("元旦", _span(date(2026, 1, 1), date(2026, 1, 3)), [date(2026, 1, 4)]),
    ("春节", _span(date(2026, 2, 15), date(2026, 2, 23)), [date(2026, 2, 14), date(2026, 2, 28)]),
    ("清明节", _span(date(2026, 4, 4), date(2026, 4, 6)), []),
    ("劳动节", _span(date(2026, 5, 1), date(2026, 5, 5)), [date(2026, 5, 9)]),
    ("端午节", _span(date(2026, 6, 19), date(2026, 6, 21)), []),
    ("中秋节", _span(date(2026, 9, 25), date(2026, 9, 27)), []),
    ("国庆节", _span(date(2026, 10, 1), date(2026, 10, 7)), [date(2026, 9, 20), date(2026, 10, 10)]),
]


def rows_2026() -> list[tuple[date, str, str]]:
    """The 2026 calendar as (date, kind, name) rows, by date."""
    rows = []
    for name, off, worked in HOLIDAYS_2026:
        rows += [(d, DayKind.HOLIDAY.value, name) for d in off]
        rows += [(d, DayKind.WORKDAY.value, name) for d in worked]
    return sorted(rows)


def load_calendar(session, tally: Tally | None = None) -> int:
    """Add the 2026 dates missing from the calendar (dates already there are left as the admin set them)."""
    known = set(session.scalars(select(CalendarDay.day).where(CalendarDay.day >= date(2026, 1, 1),
                                                               CalendarDay.day <= date(2026, 12, 31))))
    added = 0
    for day, kind, name in rows_2026():
        if day not in known:
            session.add(CalendarDay(day=day, kind=kind, name=name))
            added += 1
    session.flush()
    if tally is not None:
        tally.created += added
        tally.existing += len(rows_2026()) - added
    return added
