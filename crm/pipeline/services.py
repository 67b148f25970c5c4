"""Writes of the pipeline: the monthly snapshot of the ladder (recomputed whole, so running it twice is harmless)."""
from __future__ import annotations

import calendar
from collections import Counter
from datetime import date

from sqlalchemy import and_, delete, insert, or_, select

from crm.core.db import utcnow
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.ladder.models import Certification, CertificationStatus, TierEvent, TierEventKind
from crm.pipeline.models import TierSnapshot
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


def backfill(since: date, until: date) -> list[tuple[date, int]]:
    """Snapshots for every month end from `since`'s month to `until`'s, from the certification history."""
    done, end = [], month_end(since)
    while end <= until:
        done.append((end, compute_snapshot(end)))
        end = month_end(date.fromordinal(end.toordinal() + 1))
    return done
