"""Officer performance and needs analytics: grouped reads over service work, through the access policy.

Every figure comes from a fixed number of GROUP BY queries, however many officers or needs there are.
Medians are the exception that proves it: SQLite has no percentile function, so one query fetches only
the (group key, days) pairs and Python takes the median of each group (statistics.median).

Scope. A manager sees the officers whose region lies in their region subtree and the service work on the
enterprises of that subtree; an admin sees everything. Archived enterprises count in the history (visits,
needs raised and closed, follow-ups done) but not in what an officer serves now (enterprises, coverage,
open and overdue needs), like the officers' load page (crm.service.queries.load_counts).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import extract, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from crm.auth.models import User
from crm.core import clock
from crm.core.policy import Role
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import scope_enterprises, subtree_ids
from crm.extensions import db
from crm.service.models import (
    CLOSED_NEED_STATUSES,
    NEED_CATEGORY_LABELS,
    OPEN_NEED_STATUSES,
    Assignment,
    Department,
    FollowUp,
    Need,
    Visit,
)
from crm.service.queries import officers_in_scope

# --- two portable SQL expressions ------------------------------------------------------------------


class local_date_of(FunctionElement):
    """The date, in the bureau's zone, of a UTC timestamp column: local_date_of(column, zone, sqlite_modifier)."""

    type = sa.Date()
    inherit_cache = True
    name = "local_date_of"


@compiles(local_date_of, "postgresql")
def _local_date_pg(element, compiler, **kw):
    column, zone, _modifier = list(element.clauses)
    return f"CAST(timezone({compiler.process(zone, **kw)}, {compiler.process(column, **kw)}) AS DATE)"


@compiles(local_date_of)
def _local_date_sqlite(element, compiler, **kw):
    # SQLite stores the UTC time as text and shifts it by the zone's offset now: exact for zones without
    # daylight saving time (every zone in China); PostgreSQL above converts by the zone's rules.
    column, _zone, modifier = list(element.clauses)
    return f"date({compiler.process(column, **kw)}, {compiler.process(modifier, **kw)})"


def bureau_date(column):
    """An SQL expression: the date of a UTC timestamp in the bureau's zone (crm.core.clock.local_date in SQL)."""
    zone = clock.zone()
    offset = datetime.now(zone).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    return local_date_of(column, sa.literal(zone.key), sa.literal(f"{minutes:+d} minutes"))


class days_between(FunctionElement):
    """Whole days from the second date to the first: days_between(later, earlier)."""

    type = sa.Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "postgresql")
def _days_pg(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


@compiles(days_between)
def _days_sqlite(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return (f"CAST(julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)})"
            " AS INTEGER)")


def _median(values: list) -> float | None:
    """The median of the values (None when there are none)."""
    return float(statistics.median(values)) if values else None


def rounded(value):
    """A figure as the page and the export show it: one decimal, or a whole number when it is one."""
    if value is None:
        return None
    value = round(float(value), 1)
    return int(value) if value.is_integer() else value


def _percent(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def _year_bounds_utc(year: int) -> tuple[datetime, datetime]:
    """The UTC instants at which the year starts and ends on the bureau's calendar."""
    zone = clock.zone()
    return (datetime(year, 1, 1, tzinfo=zone).astimezone(UTC), datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC))


def _in_scope(column, user, region_id: int | None = None, *, current: bool = False):
    """A clause: `column` (an enterprise id) is of an enterprise `user` may read (of one region; not archived)."""
    if user.role == Role.ADMIN and not region_id and not current:
        return sa.true()  # everything: no subquery to run
    stmt = scope_enterprises(select(Enterprise.id), user)
    if region_id:
        stmt = stmt.where(Enterprise.region_id.in_(subtree_ids(region_id)))
    if current:
        stmt = stmt.where(Enterprise.archived_at.is_(None))
    return column.in_(stmt)


def region_scope(user) -> int | None:
    """The region whose subtree the user's analytics cover (None: everywhere, for an admin)."""
    return None if user.role == Role.ADMIN else user.region_id


def valid_region(user, raw: str | None) -> int | None:
    """The region filter from a query string: a region inside the user's scope, else None (the whole scope)."""
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        return None
    region_id = int(raw)
    scope = region_scope(user)
    if scope is None:
        return region_id if subtree_ids(region_id) else None
    return region_id if region_id in subtree_ids(scope) else None


# --- officer performance -------------------------------------------------------------------------------

# The columns of the officers' table, in order; each is a sort key of the page and the export.
OFFICER_COLUMNS = ("name", "region", "served", "visits_month", "visits_year", "coverage", "open_needs",
                   "overdue_needs", "median_days", "on_time")
NUMERIC_COLUMNS = OFFICER_COLUMNS[2:]
OFFICER_COLUMN_LABELS = {
    "name": _l("Officer"), "region": _l("Region"), "served": _l("Enterprises served"),
    "visits_month": _l("Visits this month"), "visits_year": _l("Visits this year"),
    "coverage": _l("Coverage"), "open_needs": _l("Open needs"), "overdue_needs": _l("Overdue needs"),
    "median_days": _l("Median days to resolve"), "on_time": _l("Follow-ups on time"),
}
PERCENT_COLUMNS = frozenset({"coverage", "on_time"})


def column_header(column: str) -> str:
    """A column's header in the user's language, with the unit of the percentages: "Coverage (%)"."""
    label = str(OFFICER_COLUMN_LABELS[column])
    return f"{label} (%)" if column in PERCENT_COLUMNS else label
# Which way is worse than the region's median: -1 lower, +1 higher. Enterprises served and open needs are a
# load rather than a result, so they are not judged.
WORSE_DIRECTION = {"visits_month": -1, "visits_year": -1, "coverage": -1, "overdue_needs": +1, "median_days": +1,
                   "on_time": -1}


@dataclass
class OfficerRow:
    """One officer's figures (see officer_performance for what each one counts)."""

    officer: User
    served: int = 0
    visited: int = 0
    visits_month: int = 0
    visits_year: int = 0
    open_needs: int = 0
    overdue_needs: int = 0
    closed_days: list[int] = field(default_factory=list)
    follow_ups_done: int = 0
    follow_ups_on_time: int = 0

    @property
    def name(self) -> str:
        return self.officer.name

    @property
    def region(self) -> str:
        return self.officer.region.name if self.officer.region else ""

    @property
    def coverage(self) -> float | None:
        """Share (%) of the enterprises served now that the officer visited this year."""
        return _percent(self.visited, self.served)

    @property
    def median_days(self) -> float | None:
        """Median days from raised to closed of the needs the officer owns that were closed this year."""
        return _median(self.closed_days)

    @property
    def on_time(self) -> float | None:
        """Share (%) of the officer's follow-ups done this year that were done by their due date."""
        return _percent(self.follow_ups_on_time, self.follow_ups_done)

    def value(self, column: str):
        """The value of a column of the table."""
        return getattr(self, column)


@dataclass
class Period:
    """The calendar the figures are counted in: today, this month and this year (bureau's zone)."""

    today: date

    @property
    def year_start(self) -> date:
        return self.today.replace(month=1, day=1)

    @property
    def month_start(self) -> date:
        return self.today.replace(day=1)


def officers_stmt(user, region_id: int | None = None):
    """The active officers in `user`'s scope (optionally only those of one region's subtree), by name."""
    stmt = officers_in_scope(user)
    if region_id:
        stmt = stmt.where(User.region_id.in_(subtree_ids(region_id)))
    return stmt


def officer_performance(user, region_id: int | None = None, today: date | None = None) -> list[OfficerRow]:
    """Every officer in scope with their figures, by name: six queries, whatever the number of officers.

    - served: enterprises they serve now (current assignment; enterprise in scope, not archived);
    - visited / coverage: of those, the ones they visited themselves this year (1 January … today);
    - visits_month, visits_year: their visits this month / this year, up to today;
    - open_needs, overdue_needs: needs they own that are open or in progress / and past their due date;
    - median_days: needs they own closed (resolved, referred, cannot resolve) this year: closed_on − raised_on;
    - on_time: follow-ups assigned to them done this year (the bureau's calendar) whose done date is on or
      before the due date.
    """
    period = Period(today or clock.today())
    officers = list(db.session.scalars(officers_stmt(user, region_id)))
    rows = {o.id: OfficerRow(o) for o in officers}
    if not rows:
        return []
    ids = list(rows)
    year_start, month_start, today_ = period.year_start, period.month_start, period.today

    # The pairs (officer, enterprise) with a visit this year, joined to the current assignments: one pass over
    # the year's visits (a correlated EXISTS per assignment makes SQLite walk each officer's visits again).
    visited = (select(Visit.officer_id, Visit.enterprise_id).distinct()
               .where(Visit.officer_id.in_(ids), Visit.visited_on >= year_start, Visit.visited_on <= today_)
               .subquery())
    for officer_id, served, seen in db.session.execute(
            select(Assignment.officer_id, func.count(), func.count(visited.c.enterprise_id))
            .outerjoin(visited, sa.and_(visited.c.officer_id == Assignment.officer_id,
                                        visited.c.enterprise_id == Assignment.enterprise_id))
            .where(Assignment.ends_on.is_(None), Assignment.officer_id.in_(ids),
                   _in_scope(Assignment.enterprise_id, user, current=True))
            .group_by(Assignment.officer_id)):
        rows[officer_id].served, rows[officer_id].visited = served, seen

    for officer_id, this_month, this_year in db.session.execute(
            select(Visit.officer_id, func.count().filter(Visit.visited_on >= month_start), func.count())
            .where(Visit.officer_id.in_(ids), Visit.visited_on >= year_start, Visit.visited_on <= today_,
                   _in_scope(Visit.enterprise_id, user))
            .group_by(Visit.officer_id)):
        rows[officer_id].visits_month, rows[officer_id].visits_year = this_month, this_year

    for owner_id, open_, overdue in db.session.execute(
            select(Need.owner_id, func.count(), func.count().filter(Need.due_on < today_))
            .where(Need.owner_id.in_(ids), Need.status.in_(OPEN_NEED_STATUSES),
                   _in_scope(Need.enterprise_id, user, current=True))
            .group_by(Need.owner_id)):
        rows[owner_id].open_needs, rows[owner_id].overdue_needs = open_, overdue

    # The median needs every value: fetch only (owner, days) of the needs closed this year (see the module note).
    for owner_id, days in db.session.execute(
            select(Need.owner_id, days_between(Need.closed_on, Need.raised_on))
            .where(Need.owner_id.in_(ids), Need.status.in_(CLOSED_NEED_STATUSES),
                   Need.closed_on >= year_start, Need.closed_on <= today_, _in_scope(Need.enterprise_id, user))):
        rows[owner_id].closed_days.append(int(days))

    starts, ends = _year_bounds_utc(period.today.year)
    for assignee_id, done, on_time in db.session.execute(
            select(FollowUp.assignee_id, func.count(),
                   func.count().filter(bureau_date(FollowUp.done_at) <= FollowUp.due_on))
            .where(FollowUp.assignee_id.in_(ids), FollowUp.done_at >= starts, FollowUp.done_at < ends,
                   _in_scope(FollowUp.enterprise_id, user))
            .group_by(FollowUp.assignee_id)):
        rows[assignee_id].follow_ups_done, rows[assignee_id].follow_ups_on_time = done, on_time

    return [rows[o.id] for o in officers]


def medians(rows: list[OfficerRow]) -> dict[str, float | None]:
    """The region's median of each numeric column over the officers listed (officers without a value skipped)."""
    out = {}
    for column in NUMERIC_COLUMNS:
        out[column] = _median([v for r in rows if (v := r.value(column)) is not None])
    return out


def worse_than_median(row: OfficerRow, median: dict[str, float | None]) -> set[str]:
    """The columns in which the officer does worse than the region's median."""
    worse = set()
    for column, direction in WORSE_DIRECTION.items():
        value, middle = row.value(column), median.get(column)
        if value is not None and middle is not None and (value - middle) * direction > 0:
            worse.add(column)
    return worse


def sort_rows(rows: list[OfficerRow], sort: str, desc: bool) -> list[OfficerRow]:
    """The rows sorted by a column (officers without a value last, either way), then by name."""
    if sort not in OFFICER_COLUMNS:
        sort = "name"
    by_name = sorted(rows, key=lambda r: (r.name, r.officer.id))
    present = [r for r in by_name if r.value(sort) is not None]
    missing = [r for r in by_name if r.value(sort) is None]
    return sorted(present, key=lambda r: r.value(sort), reverse=desc) + missing


# --- needs analytics -------------------------------------------------------------------------------------

TOP_DEPARTMENTS = 10


@dataclass
class CategoryFigures:
    """Needs of one category raised in the year: by month, how many are closed now, the days they took."""

    category: str
    by_month: list[int] = field(default_factory=lambda: [0] * 12)
    closed: int = 0
    days: list[int] = field(default_factory=list)
    # outcomes recorded on its needs: financing 万元, people recruited, contracts signed and their 万元
    financing_wan: Decimal = Decimal("0")
    people_recruited: int = 0
    contracts_signed: int = 0
    contracts_wan: Decimal = Decimal("0")

    @property
    def label(self):
        return NEED_CATEGORY_LABELS.get(self.category, self.category)

    @property
    def series(self) -> dict:
        """The category as a series of the stacked chart (crm templates/macros/charts.html)."""
        return {"name": str(self.label), "data": self.by_month}

    @property
    def raised(self) -> int:
        return sum(self.by_month)

    @property
    def resolution_rate(self) -> float | None:
        """Closed now (resolved, referred or cannot resolve) over raised, in %."""
        return _percent(self.closed, self.raised)

    @property
    def median_days(self) -> float | None:
        return _median(self.days)

    @property
    def mean_days(self) -> float | None:
        return sum(self.days) / len(self.days) if self.days else None


@dataclass
class NeedsAnalytics:
    """The needs raised in a year in a scope, every table of the page."""

    year: int
    categories: list[CategoryFigures]
    departments: list[tuple[str, int, float]]  # (name, needs referred to it, % of the needs referred)
    referred: int
    satisfaction: dict[int, int]  # score 1…5 → needs rated so
    average_satisfaction: float | None

    @property
    def total(self) -> int:
        return sum(c.raised for c in self.categories)

    @property
    def closed(self) -> int:
        return sum(c.closed for c in self.categories)

    @property
    def month_totals(self) -> list[int]:
        return [sum(c.by_month[m] for c in self.categories) for m in range(12)]

    @property
    def rated(self) -> int:
        return sum(self.satisfaction.values())

    @property
    def all_days(self) -> list[int]:
        return [d for c in self.categories for d in c.days]

    def outcome_total(self, name: str):
        """The sum of one outcome field over every category."""
        return sum((getattr(c, name) for c in self.categories), Decimal("0") if name.endswith("_wan") else 0)


def _needs_in(user, region_id: int | None, year: int, *columns):
    """A select of `columns` over the needs raised in `year` on enterprises in scope (and the region)."""
    return select(*columns).select_from(Need).where(_in_scope(Need.enterprise_id, user, region_id),
                                  Need.raised_on >= date(year, 1, 1), Need.raised_on <= date(year, 12, 31))


def need_years(user, region_id: int | None = None) -> list[int]:
    """The years in which needs in scope were raised, newest first (one query)."""
    stmt = select(extract("year", Need.raised_on)).distinct().where(
        _in_scope(Need.enterprise_id, user, region_id))
    return sorted((int(y) for y in db.session.scalars(stmt) if y is not None), reverse=True)


def needs_analytics(user, year: int, region_id: int | None = None) -> NeedsAnalytics:
    """Needs raised in `year` in scope: four queries, whatever the number of needs.

    Counts by category × month of raising and closed now; days to close (closed_on − raised_on) of those
    closed, whose median and mean are taken in Python from the fetched pairs (the module note); the
    departments the needs were referred to; the enterprises' satisfaction scores.
    """
    figures = {c: CategoryFigures(str(c)) for c in NEED_CATEGORY_LABELS}
    month = extract("month", Need.raised_on)
    closed = Need.status.in_(CLOSED_NEED_STATUSES)
    outcomes = (func.sum(Need.financing_wan), func.sum(Need.people_recruited), func.sum(Need.contracts_signed),
                func.sum(Need.contracts_wan))
    for category, m, raised, closed_n, financing, recruited, contracts, contracts_wan in db.session.execute(
            _needs_in(user, region_id, year, Need.category, month, func.count(), func.count().filter(closed),
                      *outcomes)
            .group_by(Need.category, month)):
        item = figures.setdefault(category, CategoryFigures(category))
        item.by_month[int(m) - 1] += raised
        item.closed += closed_n
        item.financing_wan += Decimal(financing or 0)
        item.people_recruited += int(recruited or 0)
        item.contracts_signed += int(contracts or 0)
        item.contracts_wan += Decimal(contracts_wan or 0)

    for category, days in db.session.execute(
            _needs_in(user, region_id, year, Need.category, days_between(Need.closed_on, Need.raised_on))
            .where(closed, Need.closed_on.is_not(None))):
        figures.setdefault(category, CategoryFigures(category)).days.append(int(days))

    count = func.count().label("n")
    rows = db.session.execute(
        _needs_in(user, region_id, year, Department.name, count)
        .join(Department, Department.id == Need.department_id)
        .group_by(Department.id, Department.name, Department.position)
        .order_by(count.desc(), Department.position, Department.id)).all()
    referred = sum(n for _name, n in rows)
    departments = [(name, n, 100.0 * n / referred) for name, n in rows[:TOP_DEPARTMENTS]]

    satisfaction = dict.fromkeys(range(1, 6), 0)
    for score, n in db.session.execute(
            _needs_in(user, region_id, year, Need.satisfaction, func.count())
            .where(Need.satisfaction.is_not(None)).group_by(Need.satisfaction)):
        satisfaction[int(score)] = n
    rated = sum(satisfaction.values())
    average = sum(s * n for s, n in satisfaction.items()) / rated if rated else None
    return NeedsAnalytics(year, list(figures.values()), departments, referred, satisfaction, average)
