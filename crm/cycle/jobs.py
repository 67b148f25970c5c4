"""Scheduled work of the certification cycle: the batches' stage deadlines (idempotent: the notifications carry
dedupe keys)."""
from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from crm.cycle.models import DEADLINE_STAGES, OPEN_STAGES, PATH, Application, Batch, Stage
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.notify.services import notify, path_for


def _next_stage(stage: str) -> str:
    return PATH[PATH.index(Stage(stage)) + 1]


def stage_deadlines(today: date) -> str:
    """Each open application whose next stage is due: its officer is told `CYCLE_DEADLINE_WARN_DAYS` before,
    once; once the day has passed, the officer and the region's managers are told it is late, once."""
    from crm.service.models import Assignment
    from crm.service.queries import managers_over

    warn = current_app.config["CYCLE_DEADLINE_WARN_DAYS"]
    horizon = today + timedelta(days=warn)
    # only batches with a deadline up to the horizon can have anything to say
    due_soon = or_(*[getattr(Batch, f"{stage}_by") <= horizon for stage in DEADLINE_STAGES])
    applications = db.session.scalars(
        select(Application).join(Batch, Batch.id == Application.batch_id)
        .join(Enterprise, Enterprise.id == Application.enterprise_id)
        .options(joinedload(Application.batch), joinedload(Application.enterprise))
        .where(Application.stage.in_(OPEN_STAGES), Enterprise.archived_at.is_(None), due_soon)
        .order_by(Application.id)).all()
    ids = [a.enterprise_id for a in applications]
    officers = {}
    for start in range(0, len(ids), 900):
        officers.update(db.session.execute(
            select(Assignment.enterprise_id, Assignment.officer_id)
            .where(Assignment.enterprise_id.in_(ids[start:start + 900]), Assignment.ends_on.is_(None))).all())
    from crm.auth.models import User

    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(
        set(officers.values()) | {a.created_by_id for a in applications if a.created_by_id})))}
    managers: dict[int, list] = {}  # region id → the managers over it, looked up once per region
    soon = late = 0
    for a in applications:
        stage = _next_stage(a.stage)
        due = a.batch.deadline(stage)
        if due is None or due > horizon:
            continue
        officer = people.get(officers.get(a.enterprise_id) or a.created_by_id)
        params = {"enterprise": a.enterprise.name, "tier": a.tier, "year": a.year, "stage": str(stage),
                  "current": a.stage, "due_on": due.isoformat(), "days": (due - today).days}
        link = path_for("cycle.board", batch_id=a.batch_id)
        if due >= today:
            if notify(officer, "cycle_deadline_soon", params, link=link,
                      dedupe_key=f"cycle_deadline_soon:{a.id}:{stage}:{due.isoformat()}") is not None:
                soon += 1
            continue
        params["days"] = (today - due).days
        region = a.enterprise.region_id
        if region not in managers:
            managers[region] = managers_over(a.enterprise)
        for user in [officer, *managers[region]]:
            if user is not None and notify(
                    user, "cycle_deadline_late", params, link=link,
                    dedupe_key=f"cycle_deadline_late:{a.id}:{stage}:{due.isoformat()}:{user.id}") is not None:
                late += 1
    return _("%(soon)s reminders of a stage due, %(late)s notices of a stage late", soon=soon, late=late)
