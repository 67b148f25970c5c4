"""Writes of the certification cycle: batches, applications and their moves, flags, bulletins.

Validate, flush, audit; never commit (the view's unit of work does). An application carries an
optimistic version like a need: a move based on an older version is refused, naming who moved it and when.
Reaching "certified" records the certification through the ladder's own service, exactly once; "not passed"
records why and plans a coaching follow-up for next year's round.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from crm.core import audit, clock
from crm.core.validation import ValidationFailed
from crm.credit import queries as credit_queries
from crm.cycle import queries
from crm.cycle.models import (
    DEADLINE_STAGES,
    FLAG_LABELS,
    NOT_PASSED_REASON_LABELS,
    OPEN_STAGES,
    PATH,
    STAGE_LABELS,
    Application,
    Batch,
    Bulletin,
    EnterpriseFlag,
    NotPassedReason,
    Stage,
    allowed_moves,
)
from crm.enterprises.models import Enterprise, Region
from crm.enterprises.queries import subtree_ids
from crm.extensions import db
from crm.ladder.tiers import TIER_LABELS, Tier

BATCH_FIELDS = ["region_id", "year", "tier", *[f"{s}_by" for s in DEADLINE_STAGES], "note"]
APPLICATION_FIELDS = ["batch_id", "enterprise_id", "tier", "year", "stage", "intent_on"]


def _actor_id(actor):
    return getattr(actor, "id", None)


# --- batches ---------------------------------------------------------------------------------------

def save_batch(data: dict, *, actor, batch: Batch | None = None) -> Batch:
    """Create a batch (region, year, tier, deadlines) or change its deadlines; deadlines must not go backwards."""
    errors: dict[str, list] = {}
    region = db.session.get(Region, data.get("region_id") or 0) if data.get("region_id") else None
    if region is None:
        errors["region_id"] = [_l("Choose a region.")]
    elif not isinstance(actor, str) and not queries.can_manage_region(actor, region.id):
        errors["region_id"] = [_l("%(name)s is outside your scope.", name=region.name)]
    if data.get("tier") not in TIER_LABELS:
        errors["tier"] = [_l("Unknown tier.")]
    year = data.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        errors["year"] = [_l("Enter a four-digit year, e.g. 2024.")]
    last, last_stage = None, None
    for stage in DEADLINE_STAGES:
        due = data.get(f"{stage}_by")
        if due is None:
            continue
        if last is not None and due < last:
            errors[f"{stage}_by"] = [_l("This deadline lies before the one of “%(stage)s”.",
                                        stage=STAGE_LABELS[last_stage])]
        last, last_stage = due, stage
    if errors:
        raise ValidationFailed(errors)
    values = {name: data.get(name) for name in BATCH_FIELDS}
    values["note"] = (values["note"] or "").strip()
    if batch is None:
        batch = Batch(created_by_id=_actor_id(actor), **values)
        db.session.add(batch)
        db.session.flush()
        audit.record(db.session, "create", batch, actor=actor, changes=audit.snapshot(batch, BATCH_FIELDS),
                     summary=f"{region.name} · {year} · {TIER_LABELS[Tier(values['tier'])]}")
        return batch
    changes = audit.apply_changes(batch, values)
    if changes:
        db.session.flush()
        audit.record(db.session, "update", batch, actor=actor, changes=changes,
                     summary=f"{region.name} · {year} · {TIER_LABELS[Tier(values['tier'])]}")
    return batch


# --- applications ----------------------------------------------------------------------------------

def file_application(batch: Batch, enterprise: Enterprise, *, actor, on: date | None = None) -> Application:
    """Record an enterprise's intent to apply in the batch (its tier and year): the card appears in "intent"."""
    if not isinstance(actor, str) and not queries.can_move(actor, enterprise):
        raise ValidationFailed.one("enterprise_id", _l("%(name)s is outside your scope.", name=enterprise.name))
    if enterprise.region_id not in subtree_ids(batch.region_id):
        raise ValidationFailed.one("enterprise_id", _l("%(name)s lies outside the batch's region.",
                                                       name=enterprise.name))
    if enterprise.archived_at is not None:
        raise ValidationFailed.one("enterprise_id", _l("%(name)s is archived.", name=enterprise.name))
    credit_queries.refuse_listed([enterprise], "enterprise_id")  # on a negative list: not filed (信用筛查)
    clash = db.session.scalar(select(Application.id).where(
        Application.enterprise_id == enterprise.id, Application.tier == batch.tier, Application.year == batch.year))
    if clash is not None:
        raise ValidationFailed.one("enterprise_id", _l(
            "This enterprise has an application for this tier and year already."))
    on = on or clock.today()
    application = Application(batch_id=batch.id, enterprise_id=enterprise.id, tier=batch.tier, year=batch.year,
                              stage=Stage.INTENT, intent_on=on, created_by_id=_actor_id(actor),
                              updated_by_id=_actor_id(actor))
    db.session.add(application)
    db.session.flush()
    audit.record(db.session, "create", application, actor=actor, enterprise_id=enterprise.id,
                 changes=audit.snapshot(application, APPLICATION_FIELDS),
                 summary=f"{enterprise.name} · {batch.year} · {TIER_LABELS[Tier(batch.tier)]}")
    return application


def _stale_message(application: Application):
    who = application.updated_by.name if application.updated_by else "—"
    when = format_datetime(application.updated_at, "yyyy-MM-dd HH:mm")
    return _l("This application was moved by %(who)s at %(when)s after you opened the board. Reload the page "
              "to see where it stands, then try again.", who=who, when=when)


def _flush(application: Application) -> None:
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        fresh = db.session.get(Application, application.id)
        raise ValidationFailed.one("", _stale_message(fresh)) from None


def move_application(application: Application, stage: str, *, actor, version=None, on: date | None = None,
                     certificate_no: str = "", issued_on: date | None = None, reason: str = "",
                     weak_criterion: str = "", note: str = "") -> dict:
    """Move an application along its allowed transitions; returns the changes.

    Forward one step records the day reached; back one step (a correction) clears the current stage's day;
    "certified" needs the certificate number and issue date and records the certification (once);
    "not passed" needs a reason (the weak criterion for a failed review, words for "other") and plans a
    coaching follow-up for next year's round.
    """
    if not isinstance(actor, str) and not queries.can_move(actor, application.enterprise):
        raise ValidationFailed.one("", _l("Only the enterprise's officer or a manager of its region can move "
                                          "this application."))
    if version is not None and str(version) != str(application.version):
        raise ValidationFailed.one("", _stale_message(application))
    current = application.stage
    if stage not in allowed_moves(current):
        raise ValidationFailed.one("stage", _l(
            "An application at “%(current)s” cannot move to “%(target)s”: one step forward, one back to correct "
            "a mistake, or not passed.", current=STAGE_LABELS.get(current, current),
            target=STAGE_LABELS.get(stage, stage)))
    today = clock.today()
    on = on or today
    if on > today:
        raise ValidationFailed.one("on", _l("This date lies in the future."))
    values: dict = {"stage": stage}
    backwards = current in OPEN_STAGES and stage in OPEN_STAGES and PATH.index(Stage(stage)) < PATH.index(
        Stage(current))
    if backwards:
        values[f"{current}_on"] = None
    elif stage == Stage.NOT_PASSED:
        values.update(_not_passed_values(reason, weak_criterion, note), not_passed_on=on)
    else:
        earlier = application.reached_on(current)
        if earlier is not None and on < earlier:
            raise ValidationFailed.one("on", _l("The day cannot be before the previous stage was reached (%(day)s).",
                                                day=earlier.isoformat()))
        values[f"{stage}_on"] = on
    cert = None
    if stage == Stage.CERTIFIED:
        cert = _certify(application, certificate_no, issued_on, actor)
        values["certification_id"] = cert.id
    changes = audit.apply_changes(application, values)
    application.updated_by_id = _actor_id(actor)
    _flush(application)
    enterprise = application.enterprise
    audit.record(db.session, "status", application, actor=actor, enterprise_id=application.enterprise_id,
                 changes=changes, summary=f"{enterprise.name} · {application.year} · "
                                          f"{TIER_LABELS[Tier(application.tier)]}")
    if stage == Stage.NOT_PASSED:
        _plan_coaching(application, actor)
    return changes


def _not_passed_values(reason: str, weak_criterion: str, note: str) -> dict:
    errors: dict[str, list] = {}
    weak_criterion, note = (weak_criterion or "").strip(), (note or "").strip()
    if reason not in NOT_PASSED_REASON_LABELS:
        errors["reason"] = [_l("Say why the application did not pass.")]
    elif reason == NotPassedReason.FAILED_REVIEW and not weak_criterion:
        errors["weak_criterion"] = [_l("Name the criterion the review found weak.")]
    elif reason == NotPassedReason.OTHER and not note:
        errors["note"] = [_l("Describe the reason.")]
    if len(weak_criterion) > 120:
        errors["weak_criterion"] = [_l("At most %(max)d characters.", max=120)]
    if errors:
        raise ValidationFailed(errors)
    return {"not_passed_reason": reason, "weak_criterion": weak_criterion, "not_passed_note": note}


def _certify(application: Application, certificate_no: str, issued_on: date | None, actor):
    """The certification of a certified application, through the ladder's service (its checks and events)."""
    from crm.ladder.services import record_certification

    if application.certification_id is not None:  # never twice (the stage machine already prevents it)
        raise ValidationFailed.one("", _l("This application's certification is recorded already."))
    certificate_no = (certificate_no or "").strip()
    errors = {}
    if not certificate_no:
        errors["certificate_no"] = [_l("Enter the certificate number.")]
    elif len(certificate_no) > 40:
        errors["certificate_no"] = [_l("At most %(max)d characters.", max=40)]
    if issued_on is None:
        errors["issued_on"] = [_l("Enter the issue date.")]
    if errors:
        raise ValidationFailed(errors)
    return record_certification(application.enterprise, {
        "tier": application.tier, "certificate_no": certificate_no, "issued_on": issued_on, "expires_on": None,
        "issuer": "", "status": "active",
        "note": str(_l("Application of %(year)s", year=application.year))}, actor=actor)


def coaching_due_on(application: Application, today: date) -> date:
    """When next year's coaching is due: 1 March of the year after the round, or in 30 days when that has passed."""
    due = date(application.year + 1, 3, 1)
    return due if due > today else today + timedelta(days=30)


def _plan_coaching(application: Application, actor) -> None:
    """A follow-up for the enterprise's officer (or the person recording it) to coach it for next year."""
    from crm.service import queries as service_queries
    from crm.service import services as service_services
    from crm.service.models import FollowUpSource

    enterprise = application.enterprise
    assignee = service_queries.default_owner(enterprise, actor if not isinstance(actor, str) else None)
    if assignee is None:
        return
    reason = application.reason_label
    detail = application.weak_criterion or application.not_passed_note
    action = str(_l("Coach for next year's %(tier)s application (%(year)s not passed: %(reason)s)",
                    tier=TIER_LABELS[Tier(application.tier)], year=application.year, reason=reason))
    if detail:
        action = f"{action} · {detail}"
    service_services.add_follow_up(enterprise, {"action": action[:200], "assignee_id": assignee.id,
                                                "due_on": coaching_due_on(application, clock.today())},
                                   actor=actor, source=FollowUpSource.MANUAL)


# --- flags -----------------------------------------------------------------------------------------

def set_flag(enterprise: Enterprise, kind: str, active: bool, *, actor, note: str = "") -> dict:
    """Raise or lower an officer's flag on an enterprise (外迁意向, 经营困难, 被外地招引); returns the changes."""
    if not isinstance(actor, str) and not queries.can_flag(actor, enterprise):
        raise ValidationFailed.one("", _l("%(name)s is outside your scope.", name=enterprise.name))
    if kind not in FLAG_LABELS:
        raise ValidationFailed.one("kind", _l("Choose a flag from the list."))
    note = (note or "").strip()[:255]
    flag = db.session.scalar(select(EnterpriseFlag).where(EnterpriseFlag.enterprise_id == enterprise.id,
                                                          EnterpriseFlag.kind == kind))
    if flag is None:
        if not active:
            return {}
        flag = EnterpriseFlag(enterprise_id=enterprise.id, kind=kind, active=True, note=note,
                              set_by_id=_actor_id(actor))
        db.session.add(flag)
        db.session.flush()
        changes = audit.snapshot(flag, ["kind", "active", "note"])
        audit.record(db.session, "create", flag, actor=actor, enterprise_id=enterprise.id, changes=changes,
                     summary=f"{enterprise.name} · {FLAG_LABELS[kind]}")
        return changes
    changes = audit.apply_changes(flag, {"active": active, "note": note if active else flag.note})
    if changes:
        flag.set_by_id = _actor_id(actor)
        db.session.flush()
        audit.record(db.session, "update", flag, actor=actor, enterprise_id=enterprise.id, changes=changes,
                     summary=f"{enterprise.name} · {FLAG_LABELS[kind]}")
    return changes


# --- bulletins -------------------------------------------------------------------------------------

def save_bulletin(region: Region, year: int, month: int, commentary: str, *, actor,
                  bulletin: Bulletin | None = None) -> Bulletin:
    """Create the month's bulletin of a region or change its commentary."""
    if not isinstance(actor, str) and not queries.can_manage_region(actor, region.id):
        raise ValidationFailed.one("region_id", _l("%(name)s is outside your scope.", name=region.name))
    if not 1 <= month <= 12:
        raise ValidationFailed.one("month", _l("Choose a month."))
    commentary = (commentary or "").strip()
    if len(commentary) > 8000:
        raise ValidationFailed.one("commentary", _l("At most %(max)d characters.", max=8000))
    if bulletin is None:
        bulletin = Bulletin(region_id=region.id, year=year, month=month, commentary=commentary,
                            created_by_id=_actor_id(actor))
        db.session.add(bulletin)
        db.session.flush()
        audit.record(db.session, "create", bulletin, actor=actor,
                     changes=audit.snapshot(bulletin, ["region_id", "year", "month", "commentary"]),
                     summary=f"{region.name} · {year}-{month:02d}")
        return bulletin
    changes = audit.apply_changes(bulletin, {"commentary": commentary})
    if changes:
        db.session.flush()
        audit.record(db.session, "update", bulletin, actor=actor, changes=changes,
                     summary=f"{region.name} · {year}-{month:02d}")
    return bulletin
