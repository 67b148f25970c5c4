"""The working-day calendar (crm.core.workdays) across 春节 and 国庆 2026 with their make-up working days.

The dates are those of the State Council's notice on the 2026 public holidays (2025-11-04): 春节 Feb 15–23 off,
Feb 14 (Sat) and Feb 28 (Sat) worked; 中秋 Sep 25–27 off; 国庆 Oct 1–7 off, Sep 20 (Sun) and Oct 10 (Sat) worked.
"""
from datetime import date, timedelta

import pytest

from crm.core.workdays import Calendar, CalendarDay, add_working_days, load_calendar, working_days_between
from crm.demo.calendar import load_calendar as seed_2026


def _span(a: date, b: date) -> set[date]:
    return {a + timedelta(days=i) for i in range((b - a).days + 1)}


CAL = Calendar(
    holidays=frozenset(_span(date(2026, 2, 15), date(2026, 2, 23)) | _span(date(2026, 9, 25), date(2026, 9, 27))
                       | _span(date(2026, 10, 1), date(2026, 10, 7))),
    workdays=frozenset({date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)}),
)
WEEKENDS_ONLY = Calendar()


@pytest.mark.parametrize(("start", "n", "due"), [
    (date(2026, 2, 13), 1, date(2026, 2, 14)),   # Friday → the make-up Saturday
    (date(2026, 2, 14), 1, date(2026, 2, 24)),   # the whole 春节 break skipped
    (date(2026, 2, 12), 10, date(2026, 3, 4)),   # 13, 14(Sat), 24–27, 28(Sat), Mar 2, 3, 4
    (date(2026, 2, 27), 1, date(2026, 2, 28)),   # the second make-up Saturday
    (date(2026, 9, 18), 1, date(2026, 9, 20)),   # Saturday off, Sunday worked before 国庆
    (date(2026, 9, 24), 1, date(2026, 9, 28)),   # 中秋 Friday to Sunday off
    (date(2026, 9, 30), 1, date(2026, 10, 8)),   # 国庆 Oct 1–7 off
    (date(2026, 9, 30), 3, date(2026, 10, 10)),  # Oct 8, 9, then the make-up Saturday
    (date(2026, 9, 30), 4, date(2026, 10, 12)),
    (date(2026, 9, 29), 10, date(2026, 10, 19)),
    (date(2026, 2, 24), -1, date(2026, 2, 14)),  # backwards over the break
    (date(2026, 3, 4), 0, date(2026, 3, 4)),
])
def test_add_working_days_across_the_holidays(start, n, due):
    assert add_working_days(start, n, CAL) == due
    if n > 0:
        assert working_days_between(start, due, CAL) == n


def test_without_the_calendar_only_weekends_are_off():
    assert add_working_days(date(2026, 2, 13), 1, WEEKENDS_ONLY) == date(2026, 2, 16)
    assert add_working_days(date(2026, 9, 30), 1, WEEKENDS_ONLY) == date(2026, 10, 1)
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 12), WEEKENDS_ONLY) == 8


def test_working_days_between_counts_the_later_end_and_signs():
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 12), CAL) == 4
    assert working_days_between(date(2026, 10, 12), date(2026, 9, 30), CAL) == -4
    assert working_days_between(date(2026, 10, 3), date(2026, 10, 3), CAL) == 0
    # the 国庆 break holds no working day at all
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 7), CAL) == 0


def test_the_two_functions_agree_over_the_year():
    day = date(2026, 1, 1)
    while day.year == 2026:
        for n in (1, 3, 10):
            assert working_days_between(day, add_working_days(day, n, CAL), CAL) == n
        day += timedelta(days=5)


def test_the_database_calendar_is_the_demo_2026_one(db):
    assert seed_2026(db.session) == 39
    assert seed_2026(db.session) == 0  # idempotent
    db.session.commit()
    cal = load_calendar()
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 4)  # 元旦 Jan 1–3 off, Sunday Jan 4 worked
    assert add_working_days(date(2026, 4, 30), 1) == date(2026, 5, 6)   # 劳动节 May 1–5
    assert cal.is_working_day(date(2026, 5, 9)) and not cal.is_working_day(date(2026, 6, 19))
    # 261 weekdays, 19 of them public holidays off, 6 make-up working days on weekends
    assert sum(cal.is_working_day(date(2026, 1, 1) + timedelta(days=i)) for i in range(365)) == 248
    assert db.session.query(CalendarDay).count() == 39
