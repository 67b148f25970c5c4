"""Reads of the pipeline's snapshots (the dashboards of the pipeline issue build on these)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from crm.enterprises.queries import subtree_ids
from crm.extensions import db
from crm.pipeline.models import TierSnapshot


def trend(region_id: int | None, tier: str, since: date) -> list[tuple[date, int, int, int]]:
    """(month end, valid, gained, lost) for a tier in a region subtree (None: everywhere), oldest first."""
    stmt = (select(TierSnapshot.month_end, func.sum(TierSnapshot.valid), func.sum(TierSnapshot.gained),
                   func.sum(TierSnapshot.lost))
            .where(TierSnapshot.tier == tier, TierSnapshot.month_end >= since)
            .group_by(TierSnapshot.month_end).order_by(TierSnapshot.month_end))
    if region_id is not None:
        stmt = stmt.where(TierSnapshot.region_id.in_(subtree_ids(region_id)))
    return [(m, int(v or 0), int(g or 0), int(lo or 0)) for m, v, g, lo in db.session.execute(stmt)]
