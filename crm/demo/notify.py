"""Demo notifications, job history and monthly snapshots: the real jobs, run once over the demo data.

Runs after the demo data is committed (each job is its own unit of work). Nothing happens when
the scheduler has run before, so a second `demo load` adds nothing.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update

from crm.core.db import utcnow
from crm.extensions import db
from crm.notify import scheduler
from crm.notify.models import JobRun, Notification
from crm.pipeline import services as pipeline

# The demo's trend charts reach back this many months.
SNAPSHOT_MONTHS = 24


def load_notifications(today: date) -> dict[str, int]:
    """Run every job once for its latest slot, back-fill the snapshots, mark about half the messages read."""
    if db.session.scalar(select(func.count()).select_from(JobRun)):
        return {"job runs": 0, "notifications": 0, "snapshot months": 0}
    runs = scheduler.tick(holder="demo")
    first = date(today.year - SNAPSHOT_MONTHS // 12, today.month, 1)
    months = pipeline.backfill(first, pipeline.previous_month_end(today))
    db.session.commit()
    # the older half of each person's messages has been read already, as in a real inbox
    ids = db.session.scalars(select(Notification.id).order_by(Notification.user_id, Notification.id)).all()
    read = [i for n, i in enumerate(ids) if n % 2 == 0]
    if read:
        db.session.execute(update(Notification).where(Notification.id.in_(read)).values(read_at=utcnow()))
    db.session.commit()
    return {"job runs": len(runs), "notifications": len(ids), "snapshot months": len(months)}
