"""Reads of referrals and call-backs: the department's own list (its department only), the 督办 list (scoped by
region), a need's referrals and call-backs, the history a department sees."""
from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload

from crm.core.audit import AuditEvent
from crm.core.policy import can
from crm.enterprises.models import Contact, Enterprise
from crm.enterprises.queries import scope_enterprises
from crm.extensions import db
from crm.referrals.models import NeedCallback, Referral, ReferralStatus
from crm.service.models import FollowUp, FollowUpSource, Need

INBOX_STATES = ("todo", "open", "all")


def can_answer(user, referral: Referral) -> bool:
    """Whether `user` is a contact of the department the need is referred to (the department's only access)."""
    return (can(user, "referrals.answer") and user.department_id is not None
            and user.department_id == referral.department_id)


def department_referrals(user, state: str = "todo") -> Select:
    """The referrals of the user's department, by deadline: "todo" awaiting its answer, "open" still standing,
    "all" including closed ones."""
    stmt = (select(Referral).where(Referral.department_id == user.department_id)
            .options(joinedload(Referral.need).joinedload(Need.enterprise)))
    if state == "todo":
        stmt = stmt.where(Referral.closed_at.is_(None), Referral.status == ReferralStatus.PENDING)
    elif state == "open":
        stmt = stmt.where(Referral.closed_at.is_(None))
    return stmt.order_by(Referral.closed_at.is_not(None), Referral.due_on, Referral.id)


def overdue_referrals(user) -> Select:
    """Escalated referrals (督办) still awaiting an answer, of the enterprises in the user's scope, oldest first."""
    stmt = (select(Referral).join(Need, Need.id == Referral.need_id)
            .join(Enterprise, Enterprise.id == Need.enterprise_id)
            .options(joinedload(Referral.need).joinedload(Need.enterprise), joinedload(Referral.department),
                     joinedload(Referral.need).joinedload(Need.owner))
            .where(Referral.closed_at.is_(None), Referral.status == ReferralStatus.PENDING,
                   Referral.escalation_level > 0))
    return scope_enterprises(stmt, user).order_by(Referral.due_on, Referral.id)


def open_referral(need: Need) -> Referral | None:
    """The need's standing referral, if any."""
    return db.session.scalar(select(Referral).where(Referral.need_id == need.id, Referral.closed_at.is_(None))
                             .order_by(Referral.id.desc()))


def need_referrals(need: Need) -> list[Referral]:
    """Every referral of the need, newest first."""
    return list(db.session.scalars(select(Referral).where(Referral.need_id == need.id)
                                   .options(joinedload(Referral.department)).order_by(Referral.id.desc())))


def need_callbacks(need: Need) -> list[NeedCallback]:
    """The call-backs recorded on the need, newest first."""
    return list(db.session.scalars(select(NeedCallback).where(NeedCallback.need_id == need.id)
                                   .options(joinedload(NeedCallback.recorded_by))
                                   .order_by(NeedCallback.recorded_at.desc(), NeedCallback.id.desc())))


def open_callbacks(need: Need) -> list[FollowUp]:
    """The need's call-back follow-ups not yet done."""
    return list(db.session.scalars(select(FollowUp).where(
        FollowUp.need_id == need.id, FollowUp.source == FollowUpSource.CALLBACK, FollowUp.done_at.is_(None))
        .order_by(FollowUp.id)))


def referral_history(referral: Referral) -> list[AuditEvent]:
    """What happened to the referral (referred, answered, more time, sent back, escalated), oldest first."""
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "referrals", AuditEvent.entity_id == referral.id)
        .order_by(AuditEvent.at, AuditEvent.id)))


def need_timeline_clause(need: Need):
    """The audit events that belong on the need's history: its own, its referrals' and its call-backs'."""
    return or_(
        (AuditEvent.entity_type == "needs") & (AuditEvent.entity_id == need.id),
        (AuditEvent.entity_type == "referrals") & AuditEvent.entity_id.in_(
            select(Referral.id).where(Referral.need_id == need.id)),
        (AuditEvent.entity_type == "need_callbacks") & AuditEvent.entity_id.in_(
            select(NeedCallback.id).where(NeedCallback.need_id == need.id)),
    )


def primary_contact(enterprise: Enterprise) -> Contact | None:
    """The enterprise's primary contact (else its first), for the department to call."""
    return db.session.scalar(select(Contact).where(Contact.enterprise_id == enterprise.id)
                             .order_by(Contact.is_primary.desc(), Contact.id).limit(1))
