"""Demo targets and indicator values for this year: 银川市 and three of its districts, some green, some yellow,
some red (each target is set from the demo's own progress, so the lights come out as intended whatever
day the demo is loaded); the entered rows of the indicator table. Skipped when targets exist already."""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from crm.enterprises.models import Region
from crm.extensions import db
from crm.pipeline import queries
from crm.pipeline.models import PERCENT_METRICS, IndicatorValue, Target

# (region code, metric, tier, how far the target sits from the pace: < 1 ahead (green), a little above 1
# behind by less than the yellow margin, well above it red; the least target that makes sense). The
# city sets no high-tech target of its own: it adds up its districts' (the roll-up).
PLAN = [
    ("640100", "valid_count", "high_tech", Decimal("0.95"), 0),
    ("640100", "new_certs", "tech_sme", Decimal("0.80"), 0),
    ("640100", "visits", "", Decimal("1.06"), 0),
    ("640100", "resolution_rate", "", Decimal("0.90"), 0),
    ("640100", "coverage", "", Decimal("1.30"), 0),
    ("640106", "new_certs", "high_tech", Decimal("0.90"), 4),
    ("640104", "new_certs", "high_tech", Decimal("1.50"), 3),
    ("640105", "new_certs", "high_tech", Decimal("1.05"), 3),
]
# The indicator table's entered rows for 银川市: last year, this year, the next two years' targets.
INDICATORS = {
    "rd_intensity": ("2.01", "2.15", "2.30", "2.45"),
    "rd_expense_total": ("48.6", "53.2", "58.0", "63.5"),
    "tech_contracts": ("31.4", "36.8", "42.0", "48.0"),
    "invention_patents_per_10k": ("9.8", "11.2", "12.5", "14.0"),
    "platforms": ("86", "94", "102", "110"),
    "hightech_revenue_share": ("38.5", "40.2", "42.0", "44.0"),
}


def _round(value: Decimal, percent: bool) -> Decimal:
    return value.quantize(Decimal("0.1") if percent else Decimal("1"), rounding=ROUND_HALF_UP)


def load_targets(today: date) -> dict[str, int]:
    """Targets and indicator values of the demo year (flushes; the caller commits)."""
    year = today.year
    if db.session.scalar(select(func.count()).select_from(Target).where(Target.year == year)):
        return {"targets": 0, "indicator values": 0}
    regions = {r.code: r for r in db.session.scalars(select(Region).where(Region.code.in_({p[0] for p in PLAN})))}
    fraction = max(queries.year_fraction(year, today), Decimal("0.05"))
    created = 0
    for code, metric, tier, factor, least in PLAN:
        region = regions.get(code)
        if region is None:
            continue
        board = queries.target_board(region, year, today, Decimal("0.10"))
        progress = board.cells[(region.id, metric, tier)]
        percent = metric in PERCENT_METRICS
        if metric == "valid_count":
            start = progress.start or Decimal(0)
            grown = (progress.actual - start) / fraction if fraction else Decimal(0)
            value = start + max(grown, Decimal(1)) * factor
        elif metric == "resolution_rate":
            value = progress.actual * factor
        else:
            value = max(progress.actual, Decimal(1)) / fraction * factor
        value = min(_round(value, percent), Decimal(100)) if percent else _round(value, percent)
        db.session.add(Target(year=year, region_id=region.id, metric=metric, tier=tier,
                              value=max(value, Decimal(least), Decimal(1))))
        created += 1
    city = regions.get("640100")
    values = 0
    if city is not None:
        for code, per_year in INDICATORS.items():
            for offset, text in enumerate(per_year):
                db.session.add(IndicatorValue(year=year - 1 + offset, region_id=city.id, code=code,
                                              value=Decimal(text)))
                values += 1
    db.session.flush()
    return {"targets": created, "indicator values": values}
