"""Reads of the pipeline: the dashboard's aggregates, target progress with traffic lights, forecasts, the
indicator table. Every aggregate is a GROUP BY over the scope (a constant number of queries); regions are
folded into their sub-regions in Python (a region tree has hundreds of rows, not thousands)."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, distinct, func, or_, select

from crm.core import clock
from crm.core.db import utcnow
from crm.core.policy import Role
from crm.enterprises.models import Enterprise, EnterpriseStatus, Region
from crm.enterprises.queries import all_regions, subtree_ids
from crm.extensions import db
from crm.ladder.models import Certification, CertificationStatus, TierEvent, TierEventKind
from crm.ladder.tiers import Tier
from crm.pipeline.models import (
    METRIC_PACE,
    PERCENT_METRICS,
    TIERED_METRICS,
    IndicatorValue,
    Metric,
    Rollup,
    Target,
    TierSnapshot,
)
from crm.service.models import CLOSED_NEED_STATUSES, Need, Visit

TIERS = [t.value for t in Tier]


# --- scope -------------------------------------------------------------------------------------------

def scope_region(user, requested: int | None = None) -> Region | None:
    """The region a page shows: a manager's own or one below it; an admin's choice (None: every region)."""
    if user.role == Role.ADMIN:
        return db.session.get(Region, requested) if requested else None
    if user.role != Role.MANAGER or user.region_id is None:
        return None
    if requested and requested in subtree_ids(user.region_id):
        return db.session.get(Region, requested)
    return db.session.get(Region, user.region_id)


class RegionTree:
    """Every region, read once (one query) and asked many times: children, and the leaves under a region."""

    def __init__(self, regions: list[Region]):
        self.regions = regions
        self.by_id = {r.id: r for r in regions}
        self._children: dict[int | None, list[Region]] = defaultdict(list)
        for r in regions:
            self._children[r.parent_id].append(r)
        self._leaves: dict[int, set[int]] = {}

    @classmethod
    def load(cls) -> RegionTree:
        """The region tree as it is now, in tree order."""
        return cls(all_regions())

    def children(self, region: Region | None) -> list[Region]:
        """The sub-regions of `region` (the top regions for None), in tree order."""
        return list(self._children.get(region.id if region else None, []))

    def leaves(self, region_id: int) -> set[int]:
        """Ids of the region and every region below it."""
        if region_id not in self._leaves:
            path = self.by_id[region_id].path
            self._leaves[region_id] = {r.id for r in self.regions if r.path.startswith(path)}
        return self._leaves[region_id]

    def every(self) -> set[int]:
        """Every region's id."""
        return set(self.by_id)


def children_of(region: Region | None, tree: RegionTree | None = None) -> list[Region]:
    """The sub-regions a page breaks its numbers down by (the top regions when `region` is None)."""
    return (tree or RegionTree.load()).children(region)


def _region_ids(region: Region | None) -> list[int] | None:
    return subtree_ids(region.id) if region else None


def _in(column, region: Region | None):
    """A filter on a region column for the region's subtree (no filter for None: everywhere)."""
    ids = _region_ids(region)
    return column.in_(ids) if ids is not None else True


def _fold(counts: dict, region: Region | None, tree: RegionTree) -> dict[int, Counter]:
    """Fold counts keyed by (leaf region id, …) into {child region id: Counter(rest of key)}."""
    owner = {}
    for child in tree.children(region):
        for rid in tree.leaves(child.id):
            owner[rid] = child.id
    if region is not None:
        owner.setdefault(region.id, region.id)  # enterprises registered on the region itself
    out: dict[int, Counter] = defaultdict(Counter)
    for key, n in counts.items():
        region_id, rest = key[0], key[1:]
        if region_id in owner:
            out[owner[region_id]][rest if len(rest) > 1 else (rest[0] if rest else None)] += n
    return out


# --- the dashboard -------------------------------------------------------------------------------------

def _operating(region: Region | None):
    return and_(Enterprise.archived_at.is_(None), Enterprise.status == EnterpriseStatus.ACTIVE,
                _in(Enterprise.region_id, region))


def tier_counts_by_region(region: Region | None) -> dict[tuple[int, str | None], int]:
    """{(leaf region id, current tier or None): operating enterprises} (one query)."""
    rows = db.session.execute(select(Enterprise.region_id, Enterprise.current_tier, func.count())
                              .where(_operating(region)).group_by(Enterprise.region_id, Enterprise.current_tier))
    return {(r, t): n for r, t, n in rows}


def funnel(counts: dict) -> list[tuple[str | None, int]]:
    """Enterprises by current tier, candidates (no tier) first, then the ladder upwards."""
    by_tier = Counter()
    for (_, tier), n in counts.items():
        by_tier[tier] += n
    return [(None, by_tier[None])] + [(t, by_tier[t]) for t in TIERS]


def by_subregion(counts: dict, region: Region | None, tree: RegionTree | None = None) -> list[tuple[Region, Counter]]:
    """Per sub-region: Counter(current tier or None → enterprises)."""
    tree = tree or RegionTree.load()
    folded = _fold(counts, region, tree)
    rows = [(child, folded.get(child.id, Counter())) for child in tree.children(region)]
    if region is not None and folded.get(region.id):
        rows.insert(0, (region, folded[region.id]))
    return rows


def movement(region: Region | None, year: int, tree: RegionTree | None = None) -> dict[str, Counter]:
    """{tier: Counter(gained=…, lost=…)} of the year's tier events in the region (one query, or the roll-up)."""
    rolled, _as_of = rollup(year, clock.today())
    counts = rolled["movement"] if rolled is not None else count_movement(region, year)
    leaves = None
    if rolled is not None and region is not None:
        leaves = (tree or RegionTree.load()).leaves(region.id)
    out = {t: Counter() for t in TIERS}
    for (region_id, tier, kind), n in counts.items():
        if leaves is None or region_id in leaves:
            out[tier][kind] += n
    return out


def count_movement(region: Region | None, year: int) -> dict[tuple[int, str, str], int]:
    """Live: {(leaf region id, tier, "gained" or "lost"): tier events of the year} (one query)."""
    rows = db.session.execute(
        select(Enterprise.region_id, TierEvent.tier, TierEvent.kind, func.count()).select_from(TierEvent)
        .join(Enterprise, Enterprise.id == TierEvent.enterprise_id)
        .where(_in(Enterprise.region_id, region), TierEvent.occurred_on >= date(year, 1, 1),
               TierEvent.occurred_on <= date(year, 12, 31))
        .group_by(Enterprise.region_id, TierEvent.tier, TierEvent.kind))
    out: dict = Counter()
    for region_id, tier, kind, n in rows:
        if kind == TierEventKind.GAINED:
            out[(region_id, tier, "gained")] += n
        elif kind in (TierEventKind.EXPIRED, TierEventKind.REVOKED):
            out[(region_id, tier, "lost")] += n
    return dict(out)


def monthly_trend(region: Region | None, since: date) -> tuple[list[date], dict[str, list[int]]]:
    """(month ends, {tier: valid count per month}) from the monthly snapshots (one query)."""
    rows = db.session.execute(
        select(TierSnapshot.month_end, TierSnapshot.tier, func.sum(TierSnapshot.valid))
        .where(TierSnapshot.month_end >= since, _in(TierSnapshot.region_id, region))
        .group_by(TierSnapshot.month_end, TierSnapshot.tier).order_by(TierSnapshot.month_end))
    values: dict[str, dict[date, int]] = defaultdict(dict)
    for month_end, tier, n in rows:
        values[tier][month_end] = int(n or 0)
    months = sorted({m for per_tier in values.values() for m in per_tier})
    return months, {t: [values[t].get(m, 0) for m in months] for t in TIERS}


def expiring_by_month(region: Region | None, today: date, months: int = 6) -> list[tuple[date, Counter]]:
    """Valid certifications expiring in each of the next `months` months, by tier (one query)."""
    until = _add_months(today.replace(day=1), months) - timedelta(days=1)
    # grouped by day in SQL (portable, unlike truncating to months): every 科技型中小企业 expires on 31 December, so
    # fetching one row per certificate moved tens of thousands of rows at province scale
    rows = db.session.execute(
        select(Certification.expires_on, Certification.tier, func.count())
        .select_from(Certification).join(Enterprise, Enterprise.id == Certification.enterprise_id)
        .where(Certification.status == CertificationStatus.ACTIVE, Certification.expires_on >= today,
               Certification.expires_on <= until, _in(Enterprise.region_id, region),
               Enterprise.archived_at.is_(None))
        .group_by(Certification.expires_on, Certification.tier))
    buckets: dict[date, Counter] = {_add_months(today.replace(day=1), i): Counter() for i in range(months)}
    for expires_on, tier, n in rows:
        buckets[expires_on.replace(day=1)][tier] += n
    return list(buckets.items())


def expiring_query(region: Region | None, today: date, months: int = 6, tier: str = ""):
    """The certifications behind expiring_by_month, soonest first (for the drill-down list)."""
    from sqlalchemy.orm import joinedload

    until = _add_months(today.replace(day=1), months) - timedelta(days=1)
    stmt = (select(Certification).join(Enterprise, Enterprise.id == Certification.enterprise_id)
            .options(joinedload(Certification.enterprise).joinedload(Enterprise.region))
            .where(Certification.status == CertificationStatus.ACTIVE, Certification.expires_on >= today,
                   Certification.expires_on <= until, _in(Enterprise.region_id, region),
                   Enterprise.archived_at.is_(None)))
    if tier:
        stmt = stmt.where(Certification.tier == tier)
    return stmt.order_by(Certification.expires_on, Certification.id)


def _add_months(day: date, n: int) -> date:
    month = day.month - 1 + n
    return date(day.year + month // 12, month % 12 + 1, 1)


# --- targets and their lights ------------------------------------------------------------------------------

@dataclass
class Progress:
    """A target read against the data: actual, expected by now (pace), the light and how it was judged."""

    metric: str
    tier: str
    target: Decimal | None
    actual: Decimal
    expected: Decimal | None
    light: str  # green, yellow, red, or "" when there is no target
    own: bool = True  # False when the target is the sum of the sub-regions' targets
    start: Decimal | None = None


def year_fraction(year: int, today: date) -> Decimal:
    """How much of `year` has passed on `today` (0 before it starts, 1 after it ends), by days."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    if today < first:
        return Decimal(0)
    if today >= last:
        return Decimal(1)
    return Decimal((today - first).days + 1) / Decimal((last - first).days + 1)


def judge(metric: str, target: Decimal | None, actual: Decimal, start: Decimal | None, fraction: Decimal,
          margin: Decimal) -> tuple[str, Decimal | None]:
    """(light, expected by now): green on pace, yellow behind by up to `margin` of the expected value, red beyond.

    Counts of the year are expected to grow from zero in step with the calendar; a stock from where the
    year started towards the target; a rate is held to its target at any time.
    """
    if target is None:
        return "", None
    pace = METRIC_PACE[metric]
    if pace == "rate":
        expected = target
    elif pace == "stock":
        base = start if start is not None else actual
        expected = base + (target - base) * fraction if target > base else target
    else:
        expected = target * fraction
    expected = expected.quantize(Decimal("0.01"))
    if actual >= expected:
        return "green", expected
    if actual >= expected * (1 - margin):
        return "yellow", expected
    return "red", expected


# What the scheduler's roll-up holds, province-wide by leaf region: the year's visits and needs, enterprises
# visited and operating (keys (region, "")), new certifications and valid ones now and at the year's start (keys
# (region, tier)) and the tier movement (keys (region, tier, "gained"/"lost")).
ROLLUP_KEYS = ("visits", "needs_raised", "needs_closed", "visited", "operating", "new_certs", "valid_now",
               "valid_start", "movement", "needs_board")


def _new_certs(region: Region | None, first: date, last: date) -> dict:
    return {(r, t): n for r, t, n in db.session.execute(
        select(Enterprise.region_id, TierEvent.tier, func.count())
        .select_from(TierEvent).join(Enterprise, Enterprise.id == TierEvent.enterprise_id)
        .where(_in(Enterprise.region_id, region), TierEvent.kind == TierEventKind.GAINED,
               TierEvent.occurred_on.between(first, last))
        .group_by(Enterprise.region_id, TierEvent.tier))}


def _valid_on(region: Region | None, day: date) -> dict:
    return {(r, t): n for r, t, n in db.session.execute(
        select(Enterprise.region_id, Certification.tier, func.count(distinct(Certification.enterprise_id)))
        .select_from(Certification).join(Enterprise, Enterprise.id == Certification.enterprise_id)
        .where(_in(Enterprise.region_id, region), Enterprise.archived_at.is_(None), Certification.issued_on <= day,
               or_(Certification.expires_on.is_(None), Certification.expires_on >= day),
               or_(Certification.status == CertificationStatus.ACTIVE, Certification.status_changed_on > day))
        .group_by(Enterprise.region_id, Certification.tier))}


def count_activity(region: Region | None, year: int, today: date) -> dict[str, dict]:
    """Live: {key: {(leaf region id, ""): n}} of the year's visits, needs raised and closed, enterprises visited
    and operating, up to `today` (one query each but operating's and the needs' pair)."""
    first, last = date(year, 1, 1), min(date(year, 12, 31), today)
    where_region = _in(Enterprise.region_id, region)
    out: dict[str, dict] = {}
    out["visits"] = {(r, ""): n for r, n in db.session.execute(
        select(Enterprise.region_id, func.count()).select_from(Visit)
        .join(Enterprise, Enterprise.id == Visit.enterprise_id)
        .where(where_region, Visit.visited_on.between(first, last)).group_by(Enterprise.region_id))}
    raised = db.session.execute(
        select(Enterprise.region_id, func.count(), func.count().filter(Need.status.in_(CLOSED_NEED_STATUSES)))
        .select_from(Need).join(Enterprise, Enterprise.id == Need.enterprise_id)
        .where(where_region, Need.raised_on.between(first, last)).group_by(Enterprise.region_id)).all()
    out["needs_raised"] = {(r, ""): n for r, n, _ in raised}
    out["needs_closed"] = {(r, ""): c for r, _, c in raised}
    out["visited"] = {(r, ""): n for r, n in db.session.execute(
        select(Enterprise.region_id, func.count(distinct(Visit.enterprise_id)))
        .select_from(Visit).join(Enterprise, Enterprise.id == Visit.enterprise_id)
        .where(where_region, Enterprise.archived_at.is_(None), Visit.visited_on.between(first, last))
        .group_by(Enterprise.region_id))}
    out["operating"] = {(r, ""): n for r, n in db.session.execute(
        select(Enterprise.region_id, func.count()).where(_operating(region)).group_by(Enterprise.region_id))}
    return out


def count_everything(year: int, today: date) -> dict[str, dict]:
    """Live, province-wide: every key of ROLLUP_KEYS (what the scheduler's roll-up stores)."""
    first, last = date(year, 1, 1), min(date(year, 12, 31), today)
    out = count_activity(None, year, today)
    out["new_certs"] = _new_certs(None, first, last)
    out["valid_now"] = _valid_on(None, last)
    out["valid_start"] = _valid_on(None, first - timedelta(days=1))
    out["movement"] = count_movement(None, year)
    out["needs_board"] = count_needs_board()
    return out


def count_needs_board() -> dict:
    """Live, province-wide: {(leaf region id, category, status): n} of every need of an enterprise not archived
    (all years: the needs board's counts without a filter, crm.service.queries.needs_board)."""
    return {(r, c, s): n for r, c, s, n in db.session.execute(
        select(Enterprise.region_id, Need.category, Need.status, func.count())
        .select_from(Need).join(Enterprise, Enterprise.id == Need.enterprise_id)
        .where(Enterprise.archived_at.is_(None)).group_by(Enterprise.region_id, Need.category, Need.status))}


def encode_rollup(values: dict[str, dict]) -> dict[str, list[list]]:
    """The roll-up's JSON form: {key: [[*key parts, n], …]}."""
    return {key: sorted([*k, n] for k, n in values[key].items()) for key in ROLLUP_KEYS}


def rollup(year: int, today: date) -> tuple[dict[str, dict] | None, datetime | None]:
    """(the scheduler's province-wide counts by leaf region, when counted), or (None, None) unless it runs to
    `today` and is younger than PIPELINE_ROLLUP_MAX_AGE minutes (then pages count live).

    Province-wide counts serve every region: each is keyed by leaf region and every reader sums the leaves of
    the region it shows, so no number outside the reader's scope is ever added in."""
    max_age = timedelta(minutes=int(current_app.config.get("PIPELINE_ROLLUP_MAX_AGE", 30)))
    row = db.session.scalar(select(Rollup).where(Rollup.kind == "activity", Rollup.year == year,
                                                 Rollup.as_of == today, Rollup.computed_at >= utcnow() - max_age))
    if row is None or any(key not in row.data for key in ROLLUP_KEYS):
        return None, None
    return {key: {tuple(r[:-1]): r[-1] for r in row.data[key]} for key in ROLLUP_KEYS}, row.computed_at


def _actuals(region: Region | None, year: int, today: date, metrics: set[str] | None = None) -> dict[str, dict]:
    """Per metric {(leaf region id, tier or ""): value}, and the stock at the year's start: the scheduler's
    roll-up when fresh (its time under "activity_as_of"), else counted now, one query each, only the `metrics`
    asked for (None: all)."""
    rolled, as_of = rollup(year, today)
    out: dict[str, dict] = defaultdict(dict)
    if rolled is not None:
        out.update(rolled)
        out[Metric.NEW_CERTS], out[Metric.VALID_COUNT] = rolled["new_certs"], rolled["valid_now"]
        out["activity_as_of"] = as_of
        return out
    first, last = date(year, 1, 1), min(date(year, 12, 31), today)
    wanted = set(metrics) if metrics is not None else set(Metric)
    if Metric.NEW_CERTS in wanted:
        out[Metric.NEW_CERTS] = _new_certs(region, first, last)
    if Metric.VALID_COUNT in wanted:
        out[Metric.VALID_COUNT] = _valid_on(region, last)
        out["valid_start"] = _valid_on(region, first - timedelta(days=1))
    if wanted & {Metric.VISITS, Metric.RESOLUTION_RATE, Metric.COVERAGE}:
        out.update(count_activity(region, year, today))
    return out


def _sum_for(values: dict, region_ids: set[int], tier: str = "") -> int:
    return sum(n for (r, t), n in values.items() if r in region_ids and t == tier)


def metric_value(actuals: dict, metric: str, tier: str, region_ids: set[int]) -> tuple[Decimal, Decimal | None]:
    """(actual, value at the year's start for stocks) of a metric over a set of leaf regions."""
    if metric == Metric.RESOLUTION_RATE:
        raised = _sum_for(actuals["needs_raised"], region_ids)
        closed = _sum_for(actuals["needs_closed"], region_ids)
        return (Decimal(closed * 100) / raised).quantize(Decimal("0.1")) if raised else Decimal(0), None
    if metric == Metric.COVERAGE:
        operating = _sum_for(actuals["operating"], region_ids)
        visited = _sum_for(actuals["visited"], region_ids)
        return (Decimal(visited * 100) / operating).quantize(Decimal("0.1")) if operating else Decimal(0), None
    actual = Decimal(_sum_for(actuals[metric], region_ids, tier))
    start = Decimal(_sum_for(actuals["valid_start"], region_ids, tier)) if metric == Metric.VALID_COUNT else None
    return actual, start


def targets_of(year: int, region_ids: list[int] | None) -> dict[tuple[int, str, str], Decimal]:
    """{(region id, metric, tier): value} of the year's targets (one query)."""
    stmt = select(Target.region_id, Target.metric, Target.tier, Target.value).where(Target.year == year)
    if region_ids is not None:
        stmt = stmt.where(Target.region_id.in_(region_ids))
    return {(r, m, t): v for r, m, t, v in db.session.execute(stmt)}


def effective_target(targets: dict, region_id: int, metric: str, tier: str,
                     tree: RegionTree | None = None) -> tuple[Decimal | None, bool]:
    """(target, own?) for a region: its own, else the sum of its children's (counts only; rates do not add)."""
    own = targets.get((region_id, metric, tier))
    if own is not None:
        return own, True
    if metric in PERCENT_METRICS:
        return None, True
    tree = tree or RegionTree.load()
    parts = [effective_target(targets, c.id, metric, tier, tree)[0] for c in tree.children(tree.by_id[region_id])]
    parts = [p for p in parts if p is not None]
    return (sum(parts, Decimal(0)), False) if parts else (None, True)


@dataclass
class TargetBoard:
    """The targets page: for the region and each sub-region, a Progress per metric and tier."""

    year: int
    fraction: Decimal
    metrics: list[tuple[str, str]] = field(default_factory=list)  # (metric, tier) rows
    regions: list[Region | None] = field(default_factory=list)
    cells: dict = field(default_factory=dict)  # (region id or None, metric, tier) → Progress
    activity_as_of: datetime | None = None  # when the visits and needs were counted (None: live)


def target_board(region: Region | None, year: int, today: date, margin: Decimal,
                 tree: RegionTree | None = None, targeted_only: bool = False) -> TargetBoard:
    """Progress of every target of the year for the region and its sub-regions (a fixed number of queries).

    `targeted_only` (the dashboard's lights): read only the metrics some target in the region sets.
    """
    tree = tree or RegionTree.load()
    ids = _region_ids(region)
    targets = targets_of(year, ids)
    actuals = _actuals(region, year, today, {m for (_r, m, _t) in targets} if targeted_only else None)
    fraction = year_fraction(year, today)
    board = TargetBoard(year, fraction, activity_as_of=actuals.get("activity_as_of"))
    board.metrics = ([(m, t) for m in TIERED_METRICS for t in TIERS]
                     + [(m, "") for m in (Metric.VISITS, Metric.RESOLUTION_RATE, Metric.COVERAGE)])
    regions = [region] + tree.children(region)
    board.regions = regions
    for r in regions:
        leaves = tree.leaves(r.id) if r else tree.every()
        for metric, tier in board.metrics:
            actual, start = metric_value(actuals, metric, tier, leaves)
            if r is None:
                parts = [effective_target(targets, c.id, metric, tier, tree)[0] for c in tree.children(None)]
                parts = [p for p in parts if p is not None]
                target, own = ((sum(parts, Decimal(0)), False) if parts and metric not in PERCENT_METRICS
                               else (None, True))
            else:
                target, own = effective_target(targets, r.id, metric, tier, tree)
            light, expected = judge(metric, target, actual, start, fraction, margin)
            board.cells[(r.id if r else None, metric, tier)] = Progress(metric, tier, target, actual, expected,
                                                                        light, own, start)
    return board


# --- forecast ------------------------------------------------------------------------------------------------

def count_forecast(candidates, started: set[int] | None) -> Counter:
    """Counter(ready=…, close=…, ready_not_filed=…) of ranked candidates; "close": data still missing or exactly
    one criterion failing; ready_not_filed only when `started` (ids with an application this year) is given."""
    counts = Counter()
    for c in candidates:
        if c.verdict == "ready":
            counts["ready"] += 1
            if started is not None:
                counts["ready_not_filed"] += c.enterprise.id not in started
        elif c.verdict == "incomplete" or c.failing == 1:
            counts["close"] += 1
    return counts


def forecast(user, region: Region | None, tiers: list[str], filed: dict[str, set[int]] | None = None,
             tree: RegionTree | None = None) -> dict[str, Counter]:
    """{tier: Counter(ready=…, close=…, ready_not_filed=…)} from the ladder's ranking of the candidate pool.

    `filed`: {tier: ids of the enterprises with an application this year} (crm.cycle), to count the ready ones
    not started yet. Ranking a city's candidates takes seconds at province scale, so the scheduler's hourly
    roll-up (by leaf region, summed here over the region's leaves) is read when it is from today, younger than
    PIPELINE_FORECAST_MAX_AGE minutes and holds every tier asked for; otherwise the pool is ranked now.
    """
    from crm.ladder.queries import candidate_pool

    max_age = timedelta(minutes=int(current_app.config.get("PIPELINE_FORECAST_MAX_AGE", 120)))
    rollup = db.session.scalar(select(Rollup).where(
        Rollup.kind == "forecast", Rollup.year == clock.today().year, Rollup.as_of == clock.today(),
        Rollup.computed_at >= utcnow() - max_age)) if tiers else None
    if rollup is not None and all(t in rollup.data for t in tiers):
        tree = tree or RegionTree.load()
        leaves = tree.leaves(region.id) if region else tree.every()
        out = {}
        for tier in tiers:
            counts = Counter()
            for region_id, ready, close, not_filed in rollup.data[tier]:
                if region_id in leaves:
                    counts.update(ready=ready, close=close, ready_not_filed=not_filed if filed is not None else 0)
            out[tier] = +counts
        return out
    return {tier: count_forecast(candidate_pool(user, tier, region_id=region.id if region else None, gaps=False),
                                 None if filed is None else filed.get(tier, set())) for tier in tiers}


def _at_risk_rollup() -> Rollup | None:
    max_age = timedelta(minutes=int(current_app.config.get("PIPELINE_FORECAST_MAX_AGE", 120)))
    return db.session.scalar(select(Rollup).where(
        Rollup.kind == "at_risk", Rollup.year == clock.today().year, Rollup.as_of == clock.today(),
        Rollup.computed_at >= utcnow() - max_age))


def at_risk_of_officer(officer_id: int) -> int | None:
    """How many held tiers at risk among the enterprises an officer serves, from the hourly roll-up (None when
    it is not fresh: the caller counts live)."""
    row = _at_risk_rollup()
    if row is None or "by_officer" not in row.data:
        return None
    return next((n for o, n in row.data["by_officer"] if o == officer_id), 0)


def at_risk_counts(region: Region | None, tree: RegionTree | None = None) -> tuple[Counter | None, datetime | None]:
    """(Counter(tier → held tiers at risk) in `region`, when counted) from the scheduler's hourly roll-up, or
    (None, None) when it is not from today or older than PIPELINE_FORECAST_MAX_AGE minutes: evaluating a city's
    certifications takes seconds at province scale, too long for a dashboard (the list, crm.cycle, is live)."""
    row = _at_risk_rollup()
    if row is None:
        return None, None
    tree = tree or RegionTree.load()
    leaves = tree.leaves(region.id) if region else tree.every()
    counts: Counter = Counter()
    for region_id, tier, n in row.data.get("at_risk", []):
        if region_id in leaves:
            counts[tier] += n
    return counts, row.computed_at


def applications_by_stage(region: Region | None, year: int, tiers: list[str]) -> dict[str, Counter]:
    """{tier: Counter(stage → applications)} of the year's applications (the certification cycle, crm.cycle)."""
    from crm.cycle.queries import filed_by_stage

    return filed_by_stage(region, year, tiers)


# --- the indicator table (建设指标体系) -------------------------------------------------------------------------

# Rows of the indicator table: the enterprise counts are computed from the ladder; the rest are entered.
COMPUTED_INDICATORS = [f"{t}_count" for t in reversed(TIERS)]
ENTERED_INDICATORS = ["rd_intensity", "rd_expense_total", "tech_contracts", "invention_patents_per_10k",
                      "platforms", "hightech_revenue_share"]


def indicator_table(region: Region | None, year: int, today: date,
                    tree: RegionTree | None = None) -> dict[str, list[Decimal | None]]:
    """{indicator: [last year, this year, target next year, target the year after]} for the region."""
    tree = tree or RegionTree.load()
    ids = _region_ids(region)
    region_id = region.id if region else None
    table: dict[str, list] = {}
    last_year_end = date(year - 1, 12, 31)
    current = _actuals(region, year, today, {Metric.VALID_COUNT})[Metric.VALID_COUNT]
    every = set(ids) if ids is not None else tree.every()
    previous = db.session.execute(
        select(Certification.tier, func.count(distinct(Certification.enterprise_id)))
        .select_from(Certification).join(Enterprise, Enterprise.id == Certification.enterprise_id)
        .where(_in(Enterprise.region_id, region), Certification.issued_on <= last_year_end,
               or_(Certification.expires_on.is_(None), Certification.expires_on >= last_year_end),
               or_(Certification.status == CertificationStatus.ACTIVE,
                   Certification.status_changed_on > last_year_end))
        .group_by(Certification.tier))
    previous = dict(previous.all())
    next_targets = targets_of(year + 1, ids)
    after_targets = targets_of(year + 2, ids)
    for tier in reversed(TIERS):
        row = [Decimal(previous.get(tier, 0)), Decimal(_sum_for(current, every, tier)), None, None]
        if region_id is not None:
            row[2] = effective_target(next_targets, region_id, Metric.VALID_COUNT, tier, tree)[0]
            row[3] = effective_target(after_targets, region_id, Metric.VALID_COUNT, tier, tree)[0]
        table[f"{tier}_count"] = row
    entered = {}
    if region_id is not None:
        entered = {(y, c): v for y, c, v in db.session.execute(
            select(IndicatorValue.year, IndicatorValue.code, IndicatorValue.value).where(
                IndicatorValue.region_id == region_id, IndicatorValue.year.between(year - 1, year + 2)))}
    for code in ENTERED_INDICATORS:
        table[code] = [entered.get((y, code)) for y in (year - 1, year, year + 1, year + 2)]
    return table
