"""Writes of referrals and call-backs: validate, flush, audit (callers commit).

A need referred to a department (crm.service.services.change_need_status → open_referral) is due in
REFERRAL_WORKING_DAYS working days of the admin's calendar. The department answers (the need goes back to its
owner, answered; the owner decides to resolve it), asks for more time (a new deadline, a reason; the owner and
the referring person are told), or sends it back (a reason; the need is in progress with its owner again).
Every resolved need gets a call-back follow-up (回访) for its owner; a call-back "not satisfied" reopens the need.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from crm.auth.models import User
from crm.core import audit, clock
from crm.core.db import utcnow
from crm.core.policy import Role
from crm.core.validation import ValidationFailed
from crm.core.workdays import add_working_days
from crm.extensions import db
from crm.referrals import queries
from crm.referrals.models import NeedCallback, Referral, ReferralStatus
from crm.service.models import FollowUp, FollowUpSource, Need, NeedStatus

REFERRAL_FIELDS = ["need_id", "department_id", "referred_on", "due_on", "note", "status"]
TEXT_MAX = 4000
MAX_EXTENSION_DAYS = 30


def _summary(need: Need) -> str:
    return f"{need.enterprise.name} · {need.title}"


def _tell(user, kind: str, referral: Referral, key: str, **extra) -> None:
    from crm.notify.services import notify, path_for

    if user is None:
        return
    need = referral.need
    endpoint = ("referrals.referral", {"referral_id": referral.id}) if user.role == Role.DEPARTMENT else (
        "service.need_detail", {"need_id": need.id})
    notify(user, kind, {"title": need.title, "enterprise": need.enterprise.name,
                        "department": referral.department.name, "due_on": referral.due_on.isoformat(), **extra},
           link=path_for(endpoint[0], **endpoint[1]), dedupe_key=f"{key}:{user.id}")


def department_users(department_id: int) -> list[User]:
    """The active contacts of a department."""
    from sqlalchemy import select

    return list(db.session.scalars(select(User).where(
        User.role == Role.DEPARTMENT, User.department_id == department_id, User.active.is_(True)).order_by(User.id)))


def _text(value, field: str, message) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed.one(field, message)
    if len(text) > TEXT_MAX:
        raise ValidationFailed.one(field, _l("At most %(max)d characters.", max=TEXT_MAX))
    return text


# --- called by crm.service.services.change_need_status -------------------------------------------

def open_referral(need: Need, *, actor) -> Referral:
    """The need has just become "referred" to need.department: start the referral and its deadline."""
    close_referral(need, actor=actor)  # a need stands referred to one department at a time
    today = clock.today()
    referral = Referral(need_id=need.id, department_id=need.department_id, referred_by_id=getattr(actor, "id", None),
                        referred_on=today, due_on=add_working_days(today, current_app.config["REFERRAL_WORKING_DAYS"]),
                        note=need.resolution or "", status=ReferralStatus.PENDING)
    db.session.add(referral)
    db.session.flush()
    audit.record(db.session, "create", referral, actor=actor, enterprise_id=need.enterprise_id,
                 changes=audit.snapshot(referral, REFERRAL_FIELDS), summary=_summary(need))
    for user in department_users(referral.department_id):
        _tell(user, "referral_new", referral, f"referral_new:{referral.id}")
    return referral


def close_referral(need: Need, *, actor) -> Referral | None:
    """The need left "referred" (its owner resolved or reopened it): its standing referral closes."""
    referral = queries.open_referral(need)
    if referral is None:
        return None
    referral.closed_at = utcnow()
    db.session.flush()
    audit.record(db.session, "update", referral, actor=actor, enterprise_id=need.enterprise_id,
                 changes={"closed_at": [None, referral.closed_at.isoformat()]}, summary=_summary(need))
    return referral


def plan_callback(need: Need, *, actor) -> FollowUp | None:
    """The need was resolved: plan a call-back (回访) for its owner, due in CALLBACK_WORKING_DAYS working days.

    None when one is open already or nobody may take it (no active owner and the actor is not of the region)."""
    from crm.service import queries as service_queries

    if queries.open_callbacks(need):
        return None
    assignee = need.owner if service_queries.may_take(need.owner, need.enterprise) else (
        actor if service_queries.may_take(actor, need.enterprise) else None)
    if assignee is None:
        return None
    due_on = add_working_days(clock.today(), current_app.config["CALLBACK_WORKING_DAYS"])
    follow_up = FollowUp(enterprise_id=need.enterprise_id, assignee_id=assignee.id, due_on=due_on,
                         action=str(_l("Call back: is %(name)s satisfied with “%(title)s”?", name=need.enterprise.name,
                                       title=need.title))[:200],
                         need_id=need.id, source=FollowUpSource.CALLBACK, created_by_id=getattr(actor, "id", None))
    db.session.add(follow_up)
    db.session.flush()
    audit.record(db.session, "create", follow_up, actor=actor, enterprise_id=need.enterprise_id,
                 changes=audit.snapshot(follow_up, ["assignee_id", "due_on", "action", "need_id", "source"]),
                 summary=f"{need.enterprise.name} · {follow_up.action}")
    return follow_up


# --- the department's answers ------------------------------------------------------------------------

def _refuse_unless_department(referral: Referral, actor) -> None:
    if not queries.can_answer(actor, referral):
        raise ValidationFailed.one("", _l("Only the department the need is referred to can do this."))
    if not referral.is_open or referral.status != ReferralStatus.PENDING:
        raise ValidationFailed.one("", _l("This referral has been dealt with already."))


def answer_referral(referral: Referral, answer: str, *, actor) -> None:
    """The department's reply: the need goes back to its owner, answered (the owner decides to resolve it)."""
    _refuse_unless_department(referral, actor)
    text = _text(answer, "answer", _l("Write the department's answer."))
    referral.status, referral.answer = ReferralStatus.ANSWERED, text
    referral.answered_at, referral.answered_by_id = utcnow(), actor.id
    db.session.flush()
    audit.record(db.session, "answer", referral, actor=actor, enterprise_id=referral.need.enterprise_id,
                 changes={"status": [ReferralStatus.PENDING, referral.status], "answer": [None, text]},
                 summary=_summary(referral.need))
    _tell(referral.need.owner, "referral_answered", referral, f"referral_answered:{referral.id}")


def extend_referral(referral: Referral, days: int, reason: str, *, actor) -> None:
    """More time: the deadline moves `days` working days later, with a reason; the owner and referrer are told."""
    _refuse_unless_department(referral, actor)
    if not isinstance(days, int) or not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ValidationFailed.one("days", _l("Ask for 1 to %(max)d more working days.", max=MAX_EXTENSION_DAYS))
    text = _text(reason, "reason", _l("Say why the department needs more time."))
    old = referral.due_on
    referral.due_on = add_working_days(max(old, clock.today()), days)
    referral.extensions += 1
    referral.escalation_level = 0  # a new deadline: escalation starts over should it pass too
    db.session.flush()
    audit.record(db.session, "extend", referral, actor=actor, enterprise_id=referral.need.enterprise_id,
                 changes={"due_on": [old.isoformat(), referral.due_on.isoformat()], "reason": [None, text]},
                 summary=_summary(referral.need))
    told = {referral.need.owner_id, referral.referred_by_id} - {None}
    for user_id in sorted(told):
        _tell(db.session.get(User, user_id), "referral_extended", referral,
              f"referral_extended:{referral.id}:{referral.extensions}", reason=text)


def return_referral(referral: Referral, reason: str, *, actor) -> None:
    """Sent back (not this department's): the need is in progress with its owner again, with the reason."""
    _refuse_unless_department(referral, actor)
    text = _text(reason, "reason", _l("Say why the need is sent back."))
    need = referral.need
    referral.status, referral.return_reason, referral.closed_at = ReferralStatus.RETURNED, text, utcnow()
    db.session.flush()
    audit.record(db.session, "return", referral, actor=actor, enterprise_id=need.enterprise_id,
                 changes={"status": [ReferralStatus.PENDING, referral.status], "reason": [None, text]},
                 summary=_summary(need))
    changes = audit.apply_changes(need, {"status": NeedStatus.IN_PROGRESS, "closed_on": None, "department_id": None})
    need.updated_by_id = actor.id
    db.session.flush()
    audit.record(db.session, "status", need, actor=actor, enterprise_id=need.enterprise_id, changes=changes,
                 summary=_summary(need))
    _tell(need.owner, "referral_returned", referral, f"referral_returned:{referral.id}", reason=text)


# --- the call-back (回访) -------------------------------------------------------------------------------

def record_callback(need: Need, data: dict, *, actor) -> NeedCallback:
    """Record the call-back: satisfied or not, a score 1–5, a note; "not satisfied" reopens the need (退回重办)."""
    from crm.service import queries as service_queries
    from crm.service import services as service_services

    if not service_queries.can_work_need(actor, need):
        raise ValidationFailed.one("", _l("Only the need's owner, the enterprise's officer or a manager can "
                                          "change this need."))
    if need.status != NeedStatus.RESOLVED:
        raise ValidationFailed.one("", _l("A call-back is recorded on a resolved need."))
    errors = {}
    satisfied = data.get("satisfied")
    if satisfied not in (True, False):
        errors["satisfied"] = [_l("Say whether the enterprise is satisfied.")]
    score = data.get("satisfaction")
    if not isinstance(score, int) or not 1 <= score <= 5:
        errors["satisfaction"] = [_l("Satisfaction is a score from 1 to 5.")]
    note = (data.get("note") or "").strip()
    if satisfied is False and not note:
        errors["note"] = [_l("Say why the enterprise is not satisfied: the need is reopened with this reason.")]
    if len(note) > TEXT_MAX:
        errors["note"] = [_l("At most %(max)d characters.", max=TEXT_MAX)]
    if errors:
        raise ValidationFailed(errors)
    open_ones = queries.open_callbacks(need)
    callback = NeedCallback(need_id=need.id, follow_up_id=open_ones[0].id if open_ones else None,
                            satisfied=satisfied, satisfaction=score, note=note, recorded_by_id=actor.id,
                            recorded_at=utcnow())
    db.session.add(callback)
    for follow_up in open_ones:  # the call-back is done, whoever of the need's workers made it
        follow_up.done_at, follow_up.done_by_id, follow_up.done_note = utcnow(), actor.id, note
    db.session.flush()
    audit.record(db.session, "create", callback, actor=actor, enterprise_id=need.enterprise_id,
                 changes={"satisfied": [None, satisfied], "satisfaction": [None, score], "note": [None, note]},
                 summary=_summary(need))
    if satisfied:
        service_services.rate_by_callback(need, score, actor=actor)
    else:
        service_services.change_need_status(need, NeedStatus.IN_PROGRESS, actor=actor,
                                            resolution=str(_l("Reopened after the call-back: %(reason)s",
                                                              reason=note)))
    return callback
