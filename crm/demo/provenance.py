"""Demo data of figure provenance. The registry is bulk-loaded, so every year first gets the report of its own
source (as migration 0023 gave the years that existed); then the demo officer imports the tax bureau's and the
statistics bureau's data of last year for the enterprises they serve: most agree with the figures on record,
a few do not (the enterprise page marks those figures and shows which value the engine reads). Idempotent: a
source's report is added only where the year has none of that source."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from crm.auth.models import User
from crm.enterprises import services
from crm.enterprises.models import AnnualFigures, Enterprise, FigureReport
from crm.extensions import db

TAX_FILE = "国家税务总局宁夏税务局-{year}年度企业所得税汇算清缴数据.xlsx"
STATISTICS_FILE = "宁夏统计局-{year}年规上工业企业联网直报数据.xlsx"
SERVED = 8  # how many of the demo officer's enterprises get the bureaus' data


def load_provenance(today: date) -> dict[str, int]:
    """Reports for the bulk-loaded years, then tax and statistics data of last year (flushes only)."""
    from crm.service.models import Assignment

    counts = {"figure reports of loaded years": services.backfill_reports(), "tax and statistics reports": 0}
    officer = db.session.scalar(select(User).where(User.username == "officer"))
    if officer is None:
        return counts
    year = today.year - 1
    served = list(db.session.scalars(
        select(AnnualFigures).join(Assignment, Assignment.enterprise_id == AnnualFigures.enterprise_id)
        .where(Assignment.officer_id == officer.id, Assignment.ends_on.is_(None), AnnualFigures.year == year)
        .order_by(AnnualFigures.enterprise_id).limit(SERVED)))
    if not served:
        return counts
    had = {(r.enterprise_id, r.source) for r in db.session.scalars(select(FigureReport).where(
        FigureReport.year == year, FigureReport.source.in_(("tax", "statistics")),
        FigureReport.enterprise_id.in_([f.enterprise_id for f in served])))}
    enterprises = {e.id: e for e in db.session.scalars(select(Enterprise).where(
        Enterprise.id.in_([f.enterprise_id for f in served])))}
    for index, figures in enumerate(served):
        enterprise = enterprises[figures.enterprise_id]
        if (enterprise.id, "tax") not in had and figures.revenue is not None:
            # one in four filed a revenue 3 % below what the bureau has on record
            factor = Decimal("0.97") if index % 4 == 1 else Decimal("1")
            values = {"revenue": (figures.revenue * factor).quantize(Decimal("0.01")),
                      "rd_expense": figures.rd_expense, "tax_paid": figures.tax_paid}
            services.save_report(enterprise, year, "tax", values, actor=officer, file_name=TAX_FILE.format(year=year))
            counts["tax and statistics reports"] += 1
        if (enterprise.id, "statistics") not in had and index % 2 == 0 and figures.employees is not None:
            # and one in four has more people on the statistics bureau's books
            employees = figures.employees + (4 if index % 4 == 2 else 0)
            services.save_report(enterprise, year, "statistics",
                                 {"employees": employees, "total_assets": figures.total_assets}, actor=officer,
                                 file_name=STATISTICS_FILE.format(year=year))
            counts["tax and statistics reports"] += 1
    db.session.flush()
    return counts
