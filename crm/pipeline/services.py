"""Writes of the pipeline: the monthly snapshot (recomputed whole: running it twice is harmless), targets and
the indicator table's entered values (validated, flushed, audited; callers commit)."""
from __future__ import annotations

import calendar
from collections import Counter
from datetime import date
from decimal import Decimal
from time import perf_counter

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, insert, or_, select

from crm.core import audit
from crm.core.db import utcnow
from crm.core.policy import SYSTEM, Role, can
from crm.core.validation import ValidationFailed
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import subtree_ids
from crm.extensions import db
from crm.ladder.models import Certification, CertificationStatus, TierEvent, TierEventKind
from crm.pipeline.models import (
    METRIC_LABELS,
    PERCENT_METRICS,
    TIERED_METRICS,
    IndicatorValue,
    Metric,
    Rollup,
    Target,
    TierSnapshot,
)
from crm.pipeline.queries import ENTERED_INDICATORS, count_everything, count_forecast, encode_rollup
from crm.service.models import Assignment


def month_end(day: date) -> date:
    """The last day of `day`'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def previous_month_end(day: date) -> date:
    """The last day of the month before `day`'s."""
    first = day.replace(day=1)
    return month_end(date.fromordinal(first.toordinal() - 1))


def _officers_at(day: date) -> dict[int, int]:
    """{enterprise id: officer id} of the assignments current on `day`."""
    rows = db.session.execute(select(Assignment.enterprise_id, Assignment.officer_id).where(
        Assignment.starts_on <= day, or_(Assignment.ends_on.is_(None), Assignment.ends_on > day)))
    return dict(rows.all())


def compute_snapshot(end: date) -> int:
    """Count, for the month ending `end`, valid certifications and the month's gains and losses per
    (region, tier, officer at month end); replaces that month's rows. Returns the rows written."""
    start = end.replace(day=1)
    valid_rows = db.session.execute(
        select(Certification.enterprise_id, Certification.tier, Enterprise.region_id)
        .join(Enterprise, Enterprise.id == Certification.enterprise_id)
        .where(Certification.issued_on <= end,
               or_(Certification.expires_on.is_(None), Certification.expires_on >= end),
               # revoked (or marked expired early) on or before the month's end: no longer valid then
               or_(Certification.status == CertificationStatus.ACTIVE, Certification.status_changed_on.is_(None),
                   Certification.status_changed_on > end))
        .distinct()).all()
    events = db.session.execute(
        select(TierEvent.enterprise_id, TierEvent.tier, TierEvent.kind, Enterprise.region_id)
        .join(Enterprise, Enterprise.id == TierEvent.enterprise_id)
        .where(and_(TierEvent.occurred_on >= start, TierEvent.occurred_on <= end))).all()
    officers = _officers_at(end)
    valid, gained, lost = Counter(), Counter(), Counter()
    for enterprise_id, tier, region_id in valid_rows:
        valid[(region_id, tier, officers.get(enterprise_id, 0))] += 1
    for enterprise_id, tier, kind, region_id in events:
        key = (region_id, tier, officers.get(enterprise_id, 0))
        if kind == TierEventKind.GAINED:
            gained[key] += 1
        elif kind in (TierEventKind.EXPIRED, TierEventKind.REVOKED):
            lost[key] += 1
    now = utcnow()
    rows = [{"month_end": end, "region_id": r, "tier": t, "officer_id": o, "valid": valid[(r, t, o)],
             "gained": gained[(r, t, o)], "lost": lost[(r, t, o)], "computed_at": now}
            for (r, t, o) in sorted(set(valid) | set(gained) | set(lost))]
    db.session.execute(delete(TierSnapshot).where(TierSnapshot.month_end == end))
    if rows:
        db.session.execute(insert(TierSnapshot), rows)
    return len(rows)


def refresh_activity(today: date) -> int:
    """Count the year's visits, needs, certifications and tier movement province-wide by leaf region into the
    roll-up the pages read (replaced in place: safe to run twice). Returns how many leaf regions have a count."""
    started = perf_counter()
    data = encode_rollup(count_everything(today.year, today))
    _store_rollup("activity", today, data, started)
    return len({row[0] for rows in data.values() for row in rows})


def refresh_forecast(today: date) -> int:
    """Rank the province's candidates for every tier some region targets new certifications of this year, and
    keep per leaf region how many are ready, close, and ready without an application (replaced in place: safe
    to run twice). Returns the tiers ranked."""
    from crm.cycle.queries import filed_enterprises
    from crm.ladder.queries import candidate_pool

    started = perf_counter()
    tiers = sorted(set(db.session.scalars(select(Target.tier).where(
        Target.year == today.year, Target.metric == Metric.NEW_CERTS, Target.tier != ""))))
    filed = filed_enterprises(None, today.year, tiers)
    data = {}
    for tier in tiers:
        by_region: dict[int, list] = {}
        for c in candidate_pool(SYSTEM, tier, day=today, gaps=False):
            by_region.setdefault(c.enterprise.region_id, []).append(c)
        data[tier] = sorted([region_id, counts["ready"], counts["close"], counts["ready_not_filed"]]
                            for region_id, counts in ((r, count_forecast(cs, filed[tier]))
                                                      for r, cs in by_region.items()))
    _store_rollup("forecast", today, data, started)
    return len(tiers)


def refresh_at_risk(today: date) -> int:
    """Evaluate every held tier at risk province-wide (crm.cycle: the held tier's criteria on today's figures,
    drops, flags, re-certification due) and keep per leaf region and tier how many are listed, for the dashboards
    (replaced in place: safe to run twice). Returns how many are at risk."""
    from sqlalchemy import func

    from crm.cycle.queries import at_risk_listed

    started = perf_counter()
    # counted in SQL on the stored ranks (every missing rank is computed first): evaluating every held tier of
    # a province took 49 s, this a second
    listed = at_risk_listed(SYSTEM, day=today, rank_all=True).order_by(None).subquery()
    counts: Counter = Counter({(region_id, tier): n for region_id, tier, n in db.session.execute(
        select(Enterprise.region_id, listed.c.tier, func.count())
        .join(Enterprise, Enterprise.id == listed.c.enterprise_id).group_by(Enterprise.region_id, listed.c.tier))})
    # and per officer, for the workbench's count (evaluating an officer's 200 certificates there took 0.5 s)
    by_officer = Counter(dict(db.session.execute(
        select(Assignment.officer_id, func.count()).join(listed, listed.c.enterprise_id == Assignment.enterprise_id)
        .where(Assignment.ends_on.is_(None)).group_by(Assignment.officer_id)).all()))
    _store_rollup("at_risk", today, {"at_risk": sorted([r, t, n] for (r, t), n in counts.items()),
                                     "by_officer": sorted([o, n] for o, n in by_officer.items())}, started)
    return sum(counts.values())


def _store_rollup(kind: str, today: date, data: dict, started: float) -> None:
    rollup = db.session.scalar(select(Rollup).where(Rollup.kind == kind, Rollup.year == today.year))
    if rollup is None:
        rollup = Rollup(kind=kind, year=today.year)
        db.session.add(rollup)
    rollup.as_of, rollup.data, rollup.computed_at = today, data, utcnow()
    rollup.duration_ms = round((perf_counter() - started) * 1000)
    db.session.flush()


def backfill(since: date, until: date) -> list[tuple[date, int]]:
    """Snapshots for every month end from `since`'s month to `until`'s, from the certification history."""
    done, end = [], month_end(since)
    while end <= until:
        done.append((end, compute_snapshot(end)))
        end = month_end(date.fromordinal(end.toordinal() + 1))
    return done


# --- targets and entered indicators -------------------------------------------------------------------------

def can_manage_targets(user, region) -> bool:
    """Whether `user` may set targets for `region`: an admin anywhere, a manager in their region subtree."""
    if region is None or not can(user, "targets.manage"):
        return False
    return user.role == Role.ADMIN or (user.region_id is not None and region.id in subtree_ids(user.region_id))


def save_targets(region, year: int, values: dict, *, actor) -> dict:
    """Set, change or clear (None) the year's targets of a region: {(metric, tier): value}; all or nothing.

    Returns {(metric, tier): [old, new]} of what changed; each change is audited.
    """
    if not isinstance(actor, str) and not can_manage_targets(actor, region):
        raise ValidationFailed.one("", _l("You cannot set targets for this region."))
    errors = {}
    for (metric, tier), value in values.items():
        if metric not in METRIC_LABELS or (metric in TIERED_METRICS) != bool(tier):
            errors[f"{metric}-{tier}"] = [_l("Unknown target.")]
        elif value is not None and metric in PERCENT_METRICS and value > Decimal(100):
            errors[f"{metric}-{tier}"] = [_l("A share is at most 100%.")]
    if errors:
        raise ValidationFailed(errors)
    existing = {(t.metric, t.tier): t for t in db.session.scalars(
        select(Target).where(Target.year == year, Target.region_id == region.id))}
    changed = {}
    for key, value in values.items():
        target = existing.get(key)
        old = target.value if target is not None else None
        if old == value or (old is not None and value is not None and Decimal(old) == Decimal(value)):
            continue
        if value is None:
            db.session.delete(target)
            db.session.flush()
            audit.record(db.session, "delete", target, actor=actor,
                         changes={"value": [str(old), None]}, summary=f"{region.name} {year} {key[0]} {key[1]}")
        elif target is None:
            target = Target(year=year, region_id=region.id, metric=key[0], tier=key[1], value=value,
                            updated_by_id=getattr(actor, "id", None))
            db.session.add(target)
            db.session.flush()
            audit.record(db.session, "create", target, actor=actor, changes={"value": [None, str(value)]},
                         summary=f"{region.name} {year} {key[0]} {key[1]}")
        else:
            target.value, target.updated_by_id = value, getattr(actor, "id", None)
            db.session.flush()
            audit.record(db.session, "update", target, actor=actor, changes={"value": [str(old), str(value)]},
                         summary=f"{region.name} {year} {key[0]} {key[1]}")
        changed[key] = [old, value]
    return changed


def save_indicators(region, values: dict, *, actor) -> dict:
    """Set or clear the entered indicator values of a region: {(year, code): value or None}; audited."""
    if not isinstance(actor, str) and not can_manage_targets(actor, region):
        raise ValidationFailed.one("", _l("You cannot change this region's indicators."))
    if any(code not in ENTERED_INDICATORS for _, code in values):
        raise ValidationFailed.one("", _l("Unknown indicator."))
    existing = {(v.year, v.code): v for v in db.session.scalars(
        select(IndicatorValue).where(IndicatorValue.region_id == region.id,
                                     IndicatorValue.year.in_({y for y, _ in values})))}
    changed = {}
    for (year, code), value in values.items():
        row = existing.get((year, code))
        old = row.value if row is not None else None
        if old == value:
            continue
        if value is None:
            db.session.delete(row)
            db.session.flush()
            audit.record(db.session, "delete", row, actor=actor, changes={code: [str(old), None]},
                         summary=f"{region.name} {year}")
        elif row is None:
            row = IndicatorValue(year=year, region_id=region.id, code=code, value=value,
                                 updated_by_id=getattr(actor, "id", None))
            db.session.add(row)
            db.session.flush()
            audit.record(db.session, "create", row, actor=actor, changes={code: [None, str(value)]},
                         summary=f"{region.name} {year}")
        else:
            row.value = value
            db.session.flush()
            audit.record(db.session, "update", row, actor=actor, changes={code: [str(old), str(value)]},
                         summary=f"{region.name} {year}")
        changed[(year, code)] = [old, value]
    return changed
