"""Scheduled work of referrals: escalation (督办) of referrals past their deadline without an answer."""
from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.core import audit
from crm.core.workdays import load_calendar, working_days_between
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.notify.services import notify, path_for
from crm.referrals.models import Referral, ReferralStatus
from crm.service import queries as service_queries
from crm.service.models import Need


def escalation_level(due_on: date, today: date, step: int, calendar) -> int:
    """0 while not overdue; 1 on the first working day past the deadline, one more every `step` working days."""
    late = working_days_between(due_on, today, calendar)
    return 0 if late <= 0 else 1 + (late - 1) // max(step, 1)


def escalate_overdue(today: date) -> str:
    """Escalate each unanswered referral past its deadline to the managers of the need's region (and its referrer),
    once per escalation level: a run repeated the same day, or the next day within the same level, tells nobody."""
    step = current_app.config["REFERRAL_ESCALATION_STEP"]
    calendar = load_calendar()
    referrals = db.session.scalars(
        select(Referral).join(Need, Need.id == Referral.need_id).join(Enterprise, Enterprise.id == Need.enterprise_id)
        .options(joinedload(Referral.need).joinedload(Need.enterprise).joinedload(Enterprise.region),
                 joinedload(Referral.department))
        .where(Referral.closed_at.is_(None), Referral.status == ReferralStatus.PENDING, Referral.due_on < today,
               Enterprise.archived_at.is_(None))
        .order_by(Referral.due_on, Referral.id)).all()
    escalated = told = 0
    for referral in referrals:
        level = escalation_level(referral.due_on, today, step, calendar)
        if level <= referral.escalation_level:
            continue
        old = referral.escalation_level
        referral.escalation_level, referral.escalated_on = level, today
        db.session.flush()
        need = referral.need
        audit.record(db.session, "escalate", referral, actor="scheduler", enterprise_id=need.enterprise_id,
                     changes={"escalation_level": [old, level]}, summary=f"{need.enterprise.name} · {need.title}")
        escalated += 1
        people = {m.id: m for m in service_queries.managers_over(need.enterprise)}
        if referral.referred_by is not None:
            people.setdefault(referral.referred_by.id, referral.referred_by)
        days = working_days_between(referral.due_on, today, calendar)
        for user in people.values():
            if notify(user, "referral_escalation",
                      {"title": need.title, "enterprise": need.enterprise.name, "department": referral.department.name,
                       "due_on": referral.due_on.isoformat(), "days": days, "level": level},
                      link=path_for("service.need_detail", need_id=need.id),
                      dedupe_key=f"referral_escalation:{referral.id}:{referral.due_on.isoformat()}:{level}:{user.id}"
                      ) is not None:
                told += 1
    return _("%(n)s referrals escalated, %(told)s people told", n=escalated, told=told)
