"""Scheduled work of the pipeline: the monthly snapshot (on the 1st, of the month just ended), the roll-ups
of the year's visits and needs (every 10 minutes) and of the forecasts' candidates (hourly)."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from crm.pipeline.services import compute_snapshot, previous_month_end
from crm.pipeline.services import refresh_activity as refresh_activity_rollup
from crm.pipeline.services import refresh_at_risk as refresh_at_risk_rollup
from crm.pipeline.services import refresh_forecast as refresh_forecast_rollup


def monthly_snapshot(today: date) -> str:
    """Snapshot the ladder at the end of last month (recomputed whole: safe to run twice)."""
    end = previous_month_end(today)
    return _("%(n)s rows for %(day)s", n=compute_snapshot(end), day=end.isoformat())


def refresh_activity(today: date) -> str:
    """Recount the year's visits, needs and certifications for the dashboards (replaced whole: safe to run twice)."""
    return _("Visits, needs and certifications recounted for %(n)s regions", n=refresh_activity_rollup(today))


def refresh_forecast(today: date) -> str:
    """Rank the candidates for the targets' forecasts (replaced whole: safe to run twice)."""
    return _("Candidates ranked for %(n)s tiers", n=refresh_forecast_rollup(today))


def refresh_at_risk(today: date) -> str:
    """Count the held tiers at risk by region for the dashboards (replaced whole: safe to run twice)."""
    return _("%(n)s held tiers at risk", n=refresh_at_risk_rollup(today))
