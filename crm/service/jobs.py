"""Scheduled work of service: follow-up digests, overdue needs and escalations, re-certification follow-ups,
the managers' weekly summary. Each is idempotent: its notifications carry dedupe keys."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm.auth.models import User
from crm.core.policy import Role
from crm.enterprises.models import Enterprise
from crm.enterprises.queries import subtree_ids
from crm.extensions import db
from crm.notify.services import notify, path_for
from crm.service import queries
from crm.service.models import OPEN_NEED_STATUSES, FollowUp, FollowUpSource, Need, Visit

DIGEST_ITEMS = 5  # actions named in a digest; the link leads to the rest


def follow_up_digest(today: date) -> str:
    """One message per person with open follow-ups overdue, due today or tomorrow (once a day)."""
    tomorrow = today + timedelta(days=1)
    rows = db.session.execute(
        select(FollowUp.assignee_id, FollowUp.due_on, FollowUp.action)
        .join(Enterprise, Enterprise.id == FollowUp.enterprise_id)
        .where(FollowUp.done_at.is_(None), FollowUp.due_on <= tomorrow, Enterprise.archived_at.is_(None))
        .order_by(FollowUp.assignee_id, FollowUp.due_on, FollowUp.id)).all()
    per_user: dict[int, dict] = defaultdict(lambda: {"overdue": 0, "today": 0, "tomorrow": 0, "actions": []})
    for assignee_id, due_on, action in rows:
        entry = per_user[assignee_id]
        entry["overdue" if due_on < today else "today" if due_on == today else "tomorrow"] += 1
        if len(entry["actions"]) < DIGEST_ITEMS:
            entry["actions"].append(action)
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(list(per_user))))}
    sent = 0
    for user_id, params in per_user.items():
        if notify(users.get(user_id), "follow_up_digest", params, link=path_for("service.workbench"),
                  dedupe_key=f"follow_up_digest:{user_id}:{today.isoformat()}") is not None:
            sent += 1
    return _("%(n)s digests", n=sent)


def overdue_needs(today: date) -> str:
    """Tell an owner once when their need passes its due date; managers once when it is long overdue."""
    escalate_after = current_app.config["NEED_ESCALATION_DAYS"]
    needs = db.session.scalars(
        select(Need).join(Enterprise, Enterprise.id == Need.enterprise_id)
        .options(joinedload(Need.enterprise).joinedload(Enterprise.region), joinedload(Need.owner))
        .where(Need.status.in_(OPEN_NEED_STATUSES), Need.due_on < today, Enterprise.archived_at.is_(None))
        .order_by(Need.due_on, Need.id)).all()
    owners = managers = 0
    for need in needs:
        params = {"title": need.title, "enterprise": need.enterprise.name, "due_on": need.due_on.isoformat()}
        link = path_for("service.need_detail", need_id=need.id)
        if need.owner and notify(need.owner, "need_overdue", params, link=link,
                                 dedupe_key=f"need_overdue:{need.id}:{need.due_on.isoformat()}") is not None:
            owners += 1
        days = (today - need.due_on).days
        if days > escalate_after:
            for manager in queries.managers_over(need.enterprise):
                if notify(manager, "need_escalation",
                          {**params, "days": days, "owner": need.owner.name if need.owner else "—"}, link=link,
                          dedupe_key=f"need_escalation:{need.id}:{need.due_on.isoformat()}:{manager.id}"):
                    managers += 1
    return _("%(owners)s owners and %(managers)s managers told", owners=owners, managers=managers)


def recertification_follow_ups(today: date) -> str:
    """180 days before a high-tech certificate expires, plan "prepare re-certification" for its officer, once."""
    from crm.ladder.jobs import expiring
    from crm.service.services import add_follow_up

    planned = 0
    for cert in expiring(today, within=180):
        if cert.tier != "high_tech" or cert.enterprise.archived_at is not None:
            continue
        current = queries.current_assignment(cert.enterprise)
        if current is None or not current.officer.is_active:
            continue
        # the notification's dedupe key is the once-only guard: the follow-up is planned only with it
        note = notify(current.officer, "recert_follow_up",
                      {"enterprise": cert.enterprise.name, "expires_on": cert.expires_on.isoformat()},
                      link=path_for("enterprises.detail", enterprise_id=cert.enterprise_id),
                      dedupe_key=f"recert_follow_up:{cert.id}")
        if note is None:
            continue
        add_follow_up(cert.enterprise, {
            "action": str(_recert_action()), "assignee_id": current.officer_id,
            "due_on": min(today + timedelta(days=30), cert.expires_on)}, actor="scheduler",
            source=FollowUpSource.EXPIRY)
        planned += 1
    return _("%(n)s re-certification follow-ups", n=planned)


def _recert_action():
    # stored text, written once: in the language the runner works in (the bureau's, see scheduler.run)
    return _("Prepare the high-tech re-certification (certificate expiring)")


def weekly_summary(today: date) -> str:
    """Each manager: last week's visits, needs raised and closed, overdue needs, certifications gained and lost."""
    from decimal import Decimal

    from crm.ladder.models import TierEvent, TierEventKind
    from crm.pipeline.queries import target_board

    margin = Decimal(str(current_app.config["PIPELINE_YELLOW_MARGIN"]))

    start, end = today - timedelta(days=7), today - timedelta(days=1)
    iso_year, iso_week, _weekday = today.isocalendar()
    sent = 0
    for manager in db.session.scalars(select(User).where(User.role == Role.MANAGER, User.active.is_(True),
                                                         User.region_id.is_not(None))):
        region_ids = subtree_ids(manager.region_id)
        in_region = select(Enterprise.id).where(Enterprise.region_id.in_(region_ids))

        def count(stmt):
            return db.session.scalar(stmt) or 0

        params = {
            "region": manager.region.name, "start": start.isoformat(), "end": end.isoformat(),
            "visits": count(select(func.count()).select_from(Visit).where(
                Visit.enterprise_id.in_(in_region), Visit.visited_on.between(start, end))),
            "needs_opened": count(select(func.count()).select_from(Need).where(
                Need.enterprise_id.in_(in_region), Need.raised_on.between(start, end))),
            "needs_closed": count(select(func.count()).select_from(Need).where(
                Need.enterprise_id.in_(in_region), Need.closed_on.between(start, end))),
            "overdue": count(select(func.count()).select_from(Need).where(
                Need.enterprise_id.in_(in_region), Need.status.in_(OPEN_NEED_STATUSES), Need.due_on < today)),
            "gained": count(select(func.count()).select_from(TierEvent).where(
                TierEvent.enterprise_id.in_(in_region), TierEvent.kind == TierEventKind.GAINED,
                TierEvent.occurred_on.between(start, end))),
            "lost": count(select(func.count()).select_from(TierEvent).where(
                TierEvent.enterprise_id.in_(in_region),
                TierEvent.kind.in_((TierEventKind.EXPIRED, TierEventKind.REVOKED)),
                TierEvent.occurred_on.between(start, end))),
        }
        board = target_board(manager.region, today.year, today, margin)
        params["behind"] = sum(1 for (region_id, _m, _t), cell in board.cells.items()
                               if region_id == manager.region_id and cell.light in ("red", "yellow"))
        if notify(manager, "weekly_summary", params, link=path_for("service.needs"),
                  dedupe_key=f"weekly_summary:{manager.id}:{iso_year}-W{iso_week:02d}") is not None:
            sent += 1
    return _("%(n)s weekly summaries", n=sent)
