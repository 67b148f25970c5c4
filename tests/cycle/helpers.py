"""Test data of the certification cycle (written through the services unless said otherwise)."""
from __future__ import annotations

from crm.core import clock
from crm.cycle import services
from crm.cycle.models import Batch
from crm.extensions import db


def batch(region, tier: str = "high_tech", year: int | None = None, **deadlines) -> Batch:
    """A batch of the region (written directly, no audit)."""
    b = Batch(region_id=region.id, year=year or clock.today().year, tier=tier, note="", **deadlines)
    db.session.add(b)
    db.session.flush()
    return b


def application(batch_, enterprise, stage: str = "intent", actor="test"):
    """An application filed and moved forward to `stage` through the services."""
    from crm.cycle.models import PATH

    a = services.file_application(batch_, enterprise, actor=actor)
    for target in PATH[1:PATH.index(stage) + 1]:
        services.move_application(a, target, actor=actor)
    db.session.flush()
    return a
