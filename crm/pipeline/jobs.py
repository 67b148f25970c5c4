"""Scheduled work of the pipeline: the monthly snapshot (on the 1st, of the month just ended)."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from crm.pipeline.services import compute_snapshot, previous_month_end


def monthly_snapshot(today: date) -> str:
    """Snapshot the ladder at the end of last month (recomputed whole: safe to run twice)."""
    end = previous_month_end(today)
    return _("%(n)s rows for %(day)s", n=compute_snapshot(end), day=end.isoformat())
