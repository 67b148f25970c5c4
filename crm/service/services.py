"""Writes of service work: assignments, visits, needs, follow-ups. Validate, flush and audit; callers commit.

At most one current assignment per enterprise: assigning ends the current one (ends_on =
today) and starts a new one, so the rows are the history of who served the enterprise when.
An officer edits only the enterprises they serve now (crm.enterprises.queries.can_edit_enterprise).
A need carries an optimistic version: a change based on an older version is refused.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.models import User
from crm.core import audit, clock
from crm.core.concurrency import StaleVersion
from crm.core.db import utcnow
from crm.core.policy import Role
from crm.core.validation import ValidationFailed
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.policies.models import Policy
from crm.service import queries
from crm.service.models import (
    CLOSED_NEED_STATUSES,
    NEED_CATEGORY_LABELS,
    NEED_DUE_DAYS,
    NEED_STATUS_LABELS,
    NEED_TRANSITIONS,
    VISIT_MODE_LABELS,
    Assignment,
    Department,
    FollowUp,
    FollowUpSource,
    Need,
    NeedComment,
    NeedStatus,
    Visit,
)

ASSIGNMENT_FIELDS = ["enterprise_id", "officer_id", "starts_on", "ends_on", "assigned_by_id"]
# A bulk assignment holds at most this many enterprises (the registry says so when a filter matches more).
BULK_LIMIT = 500


def _check(enterprise: Enterprise, officer, actor) -> None:
    if actor is not None and not isinstance(actor, str) and not queries.can_manage_assignment(actor, enterprise):
        raise ValidationFailed.one("", _l("%(name)s is outside your scope.", name=enterprise.name))
    if not queries.may_serve(officer, enterprise):
        raise ValidationFailed.one("officer_id", _l(
            "%(name)s lies outside the region of the chosen officer; choose an active officer of its region.",
            name=enterprise.name))


def _end(current: Assignment, actor, enterprise: Enterprise) -> None:
    old = current.ends_on
    current.ends_on = max(clock.today(), current.starts_on)
    db.session.flush()
    audit.record(db.session, "update", current, actor=actor, enterprise_id=enterprise.id,
                 changes={"ends_on": [old, current.ends_on.isoformat()]},
                 summary=f"{enterprise.name} · {current.officer.name}")


def _assign(enterprise: Enterprise, officer, actor) -> Assignment | None:
    """Assign without checks; None when the officer serves the enterprise already."""
    current = db.session.scalar(select(Assignment).where(
        Assignment.enterprise_id == enterprise.id, Assignment.ends_on.is_(None)).with_for_update())
    if current is not None:
        if current.officer_id == officer.id:
            return None
        _end(current, actor, enterprise)
    assignment = Assignment(enterprise_id=enterprise.id, officer_id=officer.id, starts_on=clock.today(),
                            assigned_by_id=getattr(actor, "id", None))
    db.session.add(assignment)
    db.session.flush()
    audit.record(db.session, "create", assignment, actor=actor, enterprise_id=enterprise.id,
                 changes=audit.snapshot(assignment, ASSIGNMENT_FIELDS), summary=f"{enterprise.name} · {officer.name}")
    return assignment


def assign_enterprise(enterprise: Enterprise, officer, *, actor) -> Assignment | None:
    """Make `officer` the enterprise's service officer from today (ending the current one, if another).

    Returns the new assignment, or None when the officer serves the enterprise already.
    """
    _check(enterprise, officer, actor)
    return _assign(enterprise, officer, actor)


def assign_creator(enterprise: Enterprise, officer, *, actor) -> Assignment | None:
    """Make the officer who registered the enterprise its service officer (None for anyone else)."""
    # Officers lack assignment.manage, but without this they could not edit what they just registered.
    if getattr(officer, "role", None) != Role.OFFICER:
        return None
    if not queries.may_serve(officer, enterprise):
        raise ValidationFailed.one("", _l("%(name)s is outside your scope.", name=enterprise.name))
    return _assign(enterprise, officer, actor)


def assign_many(enterprises, officer, *, actor) -> int:
    """Assign every enterprise to `officer`; all or none (any refusal refuses the lot). Returns how many changed."""
    enterprises = list(enterprises)
    if len(enterprises) > BULK_LIMIT:
        raise ValidationFailed.one("", _l("At most %(max)s enterprises can be assigned at once.", max=BULK_LIMIT))
    outside = [e for e in enterprises if not queries.may_serve(officer, e)]
    if outside:
        raise ValidationFailed.one("officer_id", _l(
            "%(n)s of these enterprises lie outside the chosen officer's region (e.g. %(name)s); "
            "narrow the filter to the officer's region.", n=len(outside), name=outside[0].name))
    for enterprise in enterprises:
        _check(enterprise, officer, actor)
    return sum(1 for e in enterprises if _assign(e, officer, actor) is not None)


def end_assignment(enterprise: Enterprise, *, actor) -> bool:
    """End the enterprise's current assignment today (it stays in the history); False when there is none."""
    if actor is not None and not isinstance(actor, str) and not queries.can_manage_assignment(actor, enterprise):
        raise ValidationFailed.one("", _l("%(name)s is outside your scope.", name=enterprise.name))
    current = queries.current_assignment(enterprise)
    if current is None:
        return False
    _end(current, actor, enterprise)
    return True


# --- visits ----------------------------------------------------------------------------------

VISIT_FIELDS = ["enterprise_id", "officer_id", "visited_on", "mode", "people_met", "summary"]
NEED_FIELDS = ["enterprise_id", "visit_id", "category", "title", "description", "raised_on", "due_on", "owner_id",
               "status"]
FOLLOW_UP_FIELDS = ["enterprise_id", "assignee_id", "due_on", "action", "need_id", "visit_id", "source"]


def _refuse_outside(user, enterprise: Enterprise) -> None:
    if not isinstance(user, str) and not queries.can_record(user, enterprise):
        raise ValidationFailed.one("", _l("%(name)s is outside your scope.", name=enterprise.name))


def _check_not_future(field: str, value: date) -> None:
    if value > clock.today():
        raise ValidationFailed.one(field, _l("This date lies in the future."))


def _policies(ids) -> list[Policy]:
    ids = sorted({int(i) for i in ids or []})
    if not ids:
        return []
    found = list(db.session.scalars(select(Policy).where(Policy.id.in_(ids))))
    if len(found) != len(ids):
        raise ValidationFailed.one("policy_ids", _l("Choose policies from the list."))
    return found


def _policy_titles(policies) -> list[str]:
    return sorted(p.title for p in policies)


def _check_mode(mode: str) -> None:
    if mode not in VISIT_MODE_LABELS:
        raise ValidationFailed.one("mode", _l("Choose how the visit happened."))


def record_visit(enterprise: Enterprise, data: dict, *, actor, needs=(), follow_up: dict | None = None) -> Visit:
    """Log a visit with the needs raised during it and the next follow-up, in one unit of work.

    `data`: visited_on, mode, people_met, summary, policy_ids. `needs`: dicts for raise_need.
    `follow_up`: {due_on, action} or None.
    """
    _refuse_outside(actor, enterprise)
    _check_not_future("visited_on", data["visited_on"])
    _check_mode(data["mode"])
    policies = _policies(data.get("policy_ids"))
    visit = Visit(enterprise_id=enterprise.id, officer_id=actor.id, visited_on=data["visited_on"],
                  mode=data["mode"], people_met=data.get("people_met", "").strip(),
                  summary=data.get("summary", "").strip(), policies=policies)
    db.session.add(visit)
    db.session.flush()
    changes = audit.snapshot(visit, VISIT_FIELDS)
    if policies:
        changes["policies"] = [None, _policy_titles(policies)]
    audit.record(db.session, "create", visit, actor=actor, enterprise_id=enterprise.id, changes=changes,
                 summary=f"{enterprise.name} · {visit.visited_on.isoformat()}")
    if policies:  # explaining a policy on a visit informs the enterprise of it (应知)
        from crm.policies.services import mark_informed

        mark_informed(enterprise, policies, actor=actor, on=visit.visited_on)
    for need in needs:
        raise_need(enterprise, {"raised_on": visit.visited_on, **need}, actor=actor, visit=visit)
    if follow_up and follow_up.get("due_on"):
        action = (follow_up.get("action") or "").strip() or str(_l("Follow up on the visit of %(day)s",
                                                                      day=visit.visited_on.isoformat()))
        add_follow_up(enterprise, {"due_on": follow_up["due_on"], "action": action,
                                   "assignee_id": follow_up.get("assignee_id") or actor.id},
                      actor=actor, visit=visit, source=FollowUpSource.VISIT)
    return visit


def update_visit(visit: Visit, data: dict, *, actor) -> dict:
    """Change a visit (its author within the edit window, a manager or an admin afterwards); returns the changes."""
    if not isinstance(actor, str) and not queries.can_edit_visit(actor, visit):
        raise ValidationFailed.one("", _l("This visit can no longer be changed by you: its author may edit it for "
                                          "%(days)s days, a manager afterwards.", days=queries.VISIT_EDIT_DAYS))
    _check_not_future("visited_on", data["visited_on"])
    _check_mode(data["mode"])
    policies = _policies(data.get("policy_ids"))
    changes = audit.apply_changes(visit, {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()
                                          if k in ("visited_on", "mode", "people_met", "summary")})
    old_titles, new_titles = _policy_titles(visit.policies), _policy_titles(policies)
    if old_titles != new_titles:
        visit.policies = policies
        changes["policies"] = [old_titles, new_titles]
        from crm.policies.services import mark_informed

        mark_informed(visit.enterprise, policies, actor=actor, on=visit.visited_on)
    if changes:
        db.session.flush()
        audit.record(db.session, "update", visit, actor=actor, enterprise_id=visit.enterprise_id, changes=changes,
                     summary=f"{visit.enterprise.name} · {visit.visited_on.isoformat()}")
    return changes


# --- needs -------------------------------------------------------------------------------------

def default_due_on(category: str, raised_on: date) -> date:
    """The default due date of a need of this category raised on `raised_on`."""
    return raised_on + timedelta(days=NEED_DUE_DAYS.get(category, 30))


def _owner(owner_id, enterprise: Enterprise, actor) -> User | None:
    if not owner_id:
        return queries.default_owner(enterprise, actor)
    owner = db.session.get(User, int(owner_id))
    if not queries.may_take(owner, enterprise):
        raise ValidationFailed.one("owner_id", _l("Choose an active officer or manager of the enterprise's region."))
    return owner


def _check_due(need_due: date, raised_on: date) -> None:
    if need_due < raised_on:
        raise ValidationFailed.one("due_on", _l("The due date cannot be before the day the need was raised."))


def raise_need(enterprise: Enterprise, data: dict, *, actor, visit: Visit | None = None) -> Need:
    """Record a need: category, title, description, raised on (today), due on (by category), owner.

    Bureau users record needs of the enterprises of their region; an enterprise's own contacts raise
    theirs in the portal (the owner is then the enterprise's officer: queries.default_owner).
    """
    if not isinstance(actor, str) and not queries.can_raise_need(actor, enterprise):
        raise ValidationFailed.one("", _l("%(name)s is outside your scope.", name=enterprise.name))
    _check_need_text(data)
    raised_on = data.get("raised_on") or clock.today()
    _check_not_future("raised_on", raised_on)
    due_on = data.get("due_on") or default_due_on(data["category"], raised_on)
    _check_due(due_on, raised_on)
    owner = _owner(data.get("owner_id"), enterprise, actor)
    need = Need(enterprise_id=enterprise.id, visit_id=visit.id if visit else None, category=data["category"],
                title=data["title"].strip(), description=(data.get("description") or "").strip(),
                raised_on=raised_on, due_on=due_on, owner_id=owner.id if owner else None,
                status=NeedStatus.OPEN, created_by_id=getattr(actor, "id", None),
                updated_by_id=getattr(actor, "id", None))
    db.session.add(need)
    db.session.flush()
    audit.record(db.session, "create", need, actor=actor, enterprise_id=enterprise.id,
                 changes=audit.snapshot(need, NEED_FIELDS), summary=f"{enterprise.name} · {need.title}")
    return need


def _check_need_text(data: dict) -> None:
    errors = {}
    if data.get("category") not in NEED_CATEGORY_LABELS:
        errors["category"] = [_l("Choose a category.")]
    if not (data.get("title") or "").strip():
        errors["title"] = [_l("Name the need in a few words.")]
    if errors:
        raise ValidationFailed(errors)


def _check_version(need: Need, version) -> None:
    """Refuse a change based on an older version of the need, naming who changed it and when."""
    if version is not None and str(version) != str(need.version):
        raise StaleVersion.one("", _stale_message(need))


def _stale_message(need: Need):
    who = need.updated_by.name if need.updated_by else "—"
    when = format_datetime(need.updated_at, "yyyy-MM-dd HH:mm")
    return _l("This need was changed by %(who)s at %(when)s after you opened it. Reload the page to see the "
              "change, then save again.", who=who, when=when)


def _flush_need(need: Need) -> None:
    """Flush; a concurrent save that won the race (version mismatch at UPDATE) becomes the same refusal."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        fresh = db.session.get(Need, need.id)
        raise StaleVersion.one("", _stale_message(fresh)) from None


def _refuse_unless_worker(need: Need, actor) -> None:
    if not isinstance(actor, str) and not queries.can_work_need(actor, need):
        raise ValidationFailed.one("", _l("Only the need's owner, the enterprise's officer or a manager can "
                                          "change this need."))


def update_need(need: Need, data: dict, *, actor, version=None) -> dict:
    """Change a need's category, title, description, due date or owner; returns the changes."""
    _refuse_unless_worker(need, actor)
    _check_version(need, version)
    _check_need_text(data)
    values = {"category": data["category"], "title": data["title"].strip(),
              "description": (data.get("description") or "").strip(), "due_on": data["due_on"]}
    _check_due(values["due_on"], need.raised_on)
    if "owner_id" in data:
        owner = _owner(data["owner_id"], need.enterprise, actor) if data["owner_id"] else None
        values["owner_id"] = owner.id if owner else None
    changes = audit.apply_changes(need, values)
    if changes:
        need.updated_by_id = getattr(actor, "id", None)
        _flush_need(need)
        audit.record(db.session, "update", need, actor=actor, enterprise_id=need.enterprise_id, changes=changes,
                     summary=f"{need.enterprise.name} · {need.title}")
    return changes


def _whole(value) -> int | None:
    """A whole number from a form value, or None when it is not one (refused by the caller, not a crash)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


OUTCOME_FIELDS = ("financing_wan", "people_recruited", "contracts_signed", "contracts_wan")


def _outcome(outcome: dict | None, errors: dict) -> dict:
    """The outcome fields given (financing 万元, people recruited, contracts and their 万元), checked ≥ 0."""
    values = {}
    for name, value in (outcome or {}).items():
        if name not in OUTCOME_FIELDS or value in (None, ""):
            continue
        if name.endswith("_wan"):
            try:
                value = Decimal(str(value))
            except (InvalidOperation, ValueError):
                errors[name] = [_l("Enter a number, e.g. 1234.5.")]
                continue
            if value < 0 or value >= Decimal("1e12") or value.as_tuple().exponent < -2:
                errors[name] = [_l("An amount in 10k CNY, at least 0, with at most two decimal places.")]
                continue
        else:
            value = _whole(value)
            if value is None or not 0 <= value <= 10_000_000:
                errors[name] = [_l("Enter a whole number, at least 0.")]
                continue
        values[name] = value
    return values


def change_need_status(need: Need, status: str, *, actor, version=None, resolution: str = "",
                       department_id=None, satisfaction=None, outcome: dict | None = None) -> dict:
    """Move a need along its allowed transitions; closing needs a resolution, referring a department.

    Referring opens a referral with its deadline in working days; leaving "referred" closes it; resolving plans
    the call-back (crm.referrals.services). Closing may record the outcome (OUTCOME_FIELDS)."""
    _refuse_unless_worker(need, actor)
    _check_version(need, version)
    allowed = NEED_TRANSITIONS.get(need.status, ())
    if status not in allowed:
        raise ValidationFailed.one("status", _l(
            "A need that is “%(current)s” cannot become “%(target)s”.",
            current=NEED_STATUS_LABELS.get(need.status, need.status), target=NEED_STATUS_LABELS.get(status, status)))
    resolution = (resolution or "").strip()
    values: dict = {"status": status}
    errors: dict = {}
    if status in CLOSED_NEED_STATUSES:
        if not resolution:
            errors["resolution"] = [_l("Say how the need was settled before closing it.")]
        values.update(resolution=resolution, closed_on=clock.today())
        if status == NeedStatus.REFERRED:
            department_key = _whole(department_id)
            department = db.session.get(Department, department_key) if department_key is not None else None
            if department is None or not department.active:
                errors["department_id"] = [_l("Choose the department the need is referred to.")]
            else:
                values["department_id"] = department.id
        if satisfaction not in (None, ""):
            values["satisfaction"] = _whole(satisfaction)
            if values["satisfaction"] is None or not 1 <= values["satisfaction"] <= 5:
                errors["satisfaction"] = [_l("Satisfaction is a score from 1 to 5.")]
        values.update(_outcome(outcome, errors))
    else:  # reopened or taken up: the closure (and any referral) no longer holds
        values.update(closed_on=None, satisfaction=None, department_id=None)
        if resolution:
            values["resolution"] = resolution
    if errors:
        raise ValidationFailed(errors)
    old_status = need.status
    changes = audit.apply_changes(need, values)
    need.updated_by_id = getattr(actor, "id", None)
    _flush_need(need)
    audit.record(db.session, "status", need, actor=actor, enterprise_id=need.enterprise_id, changes=changes,
                 summary=f"{need.enterprise.name} · {need.title}")
    from crm.referrals import services as referrals

    if status == NeedStatus.REFERRED:
        referrals.open_referral(need, actor=actor)
    elif old_status == NeedStatus.REFERRED:
        referrals.close_referral(need, actor=actor)
    if status == NeedStatus.RESOLVED:
        referrals.plan_callback(need, actor=actor)
    _tell_the_enterprise(need, old_status)
    return changes


def rate_by_callback(need: Need, satisfaction: int, *, actor) -> dict:
    """The satisfaction the enterprise gave on the call-back (回访), kept on the need."""
    changes = audit.apply_changes(need, {"satisfaction": satisfaction})
    if changes:
        need.updated_by_id = getattr(actor, "id", None)
        _flush_need(need)
        audit.record(db.session, "update", need, actor=actor, enterprise_id=need.enterprise_id, changes=changes,
                     summary=f"{need.enterprise.name} · {need.title}")
    return changes


def _tell_the_enterprise(need: Need, old_status: str) -> None:
    """The enterprise user who raised the need hears of each status change (once per version)."""
    from crm.notify.services import notify, path_for

    raiser = db.session.get(User, need.created_by_id) if need.created_by_id else None
    if raiser is None or raiser.role != Role.ENTERPRISE or raiser.enterprise_id != need.enterprise_id:
        return
    notify(raiser, "need_status", {"title": need.title, "old": old_status, "new": need.status},
           link=path_for("portal.need_detail", need_id=need.id), dedupe_key=f"need_status:{need.id}:{need.version}")


COMMENT_MAX = 2000


def add_need_comment(need: Need, body: str, *, actor, visible_to_enterprise: bool = True) -> NeedComment:
    """Comment on a need. An enterprise user's comment is always visible to the enterprise; the bureau's
    may be internal (never shown in the portal)."""
    if not isinstance(actor, str) and not queries.can_comment_need(actor, need):
        raise ValidationFailed.one("", _l("%(name)s is outside your scope.", name=need.enterprise.name))
    body = (body or "").strip()
    if not body:
        raise ValidationFailed.one("body", _l("Write the comment first."))
    if len(body) > COMMENT_MAX:
        raise ValidationFailed.one("body", _l("At most %(max)d characters.", max=COMMENT_MAX))
    if getattr(actor, "role", None) == Role.ENTERPRISE:
        visible_to_enterprise = True
    comment = NeedComment(need_id=need.id, author_id=getattr(actor, "id", None), body=body,
                          visible_to_enterprise=bool(visible_to_enterprise), created_at=utcnow())
    db.session.add(comment)
    db.session.flush()
    audit.record(db.session, "create", comment, actor=actor, enterprise_id=need.enterprise_id,
                 changes={"need": [None, need.id], "visible_to_enterprise": [None, comment.visible_to_enterprise]},
                 summary=f"{need.enterprise.name} · {need.title}")
    return comment


def rate_need(need: Need, satisfaction, *, actor) -> dict:
    """The enterprise's own satisfaction (1–5) with a closed need, from the portal; it may change its mind."""
    if not isinstance(actor, str) and not queries.is_own_enterprise(actor, need.enterprise):
        raise ValidationFailed.one("", _l("Only the enterprise that raised the need can rate it."))
    if need.status not in CLOSED_NEED_STATUSES:
        raise ValidationFailed.one("satisfaction", _l("A need can be rated once it is closed."))
    score = _whole(satisfaction)
    if score is None or not 1 <= score <= 5:
        raise ValidationFailed.one("satisfaction", _l("Satisfaction is a score from 1 to 5."))
    changes = audit.apply_changes(need, {"satisfaction": score})
    if changes:
        need.updated_by_id = getattr(actor, "id", None)
        _flush_need(need)
        audit.record(db.session, "update", need, actor=actor, enterprise_id=need.enterprise_id, changes=changes,
                     summary=f"{need.enterprise.name} · {need.title}")
    return changes


# --- follow-ups --------------------------------------------------------------------------------

def add_follow_up(enterprise: Enterprise, data: dict, *, actor, need: Need | None = None, visit: Visit | None = None,
                  source: str = FollowUpSource.MANUAL) -> FollowUp:
    """Plan a follow-up: what to do (action), who (assignee_id, default the actor), by when (due_on)."""
    _refuse_outside(actor, enterprise)
    if (need is not None and need.enterprise_id != enterprise.id) or (
            visit is not None and visit.enterprise_id != enterprise.id):
        raise ValidationFailed.one("", _l("The need or visit belongs to another enterprise."))
    action = (data.get("action") or "").strip()
    if not action:
        raise ValidationFailed.one("action", _l("Say what is to be done."))
    assignee_id = data.get("assignee_id") or getattr(actor, "id", None)
    assignee = db.session.get(User, int(assignee_id)) if assignee_id else None
    if not queries.may_take(assignee, enterprise):
        raise ValidationFailed.one("assignee_id", _l("Choose an active officer or manager of the enterprise's "
                                                     "region."))
    follow_up = FollowUp(enterprise_id=enterprise.id, assignee_id=assignee.id, due_on=data["due_on"], action=action,
                         need_id=need.id if need else None, visit_id=visit.id if visit else None, source=source,
                         created_by_id=getattr(actor, "id", None))
    db.session.add(follow_up)
    db.session.flush()
    audit.record(db.session, "create", follow_up, actor=actor, enterprise_id=enterprise.id,
                 changes=audit.snapshot(follow_up, FOLLOW_UP_FIELDS), summary=f"{enterprise.name} · {action}")
    return follow_up


def _refuse_unless_follow_up_worker(follow_up: FollowUp, actor) -> None:
    if not isinstance(actor, str) and not queries.can_work_follow_up(actor, follow_up):
        raise ValidationFailed.one("", _l("Only the assignee or a manager can change this follow-up."))


def update_follow_up(follow_up: FollowUp, data: dict, *, actor) -> dict:
    """Change what, who or by when; returns the changes."""
    _refuse_unless_follow_up_worker(follow_up, actor)
    if follow_up.done_at is not None:
        raise ValidationFailed.one("", _l("This follow-up is done; plan a new one instead."))
    values = {"action": (data.get("action") or "").strip(), "due_on": data["due_on"]}
    if not values["action"]:
        raise ValidationFailed.one("action", _l("Say what is to be done."))
    if data.get("assignee_id"):
        assignee = db.session.get(User, int(data["assignee_id"]))
        if not queries.may_take(assignee, follow_up.enterprise):
            raise ValidationFailed.one("assignee_id", _l("Choose an active officer or manager of the enterprise's "
                                                         "region."))
        values["assignee_id"] = assignee.id
    changes = audit.apply_changes(follow_up, values)
    if changes:
        db.session.flush()
        audit.record(db.session, "update", follow_up, actor=actor, enterprise_id=follow_up.enterprise_id,
                     changes=changes, summary=f"{follow_up.enterprise.name} · {follow_up.action}")
    return changes


def complete_follow_up(follow_up: FollowUp, note: str, *, actor) -> bool:
    """Mark the follow-up done with a note; False when it was done already."""
    _refuse_unless_follow_up_worker(follow_up, actor)
    if follow_up.done_at is not None:
        return False
    follow_up.done_at = utcnow()
    follow_up.done_note = (note or "").strip()
    follow_up.done_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(db.session, "complete", follow_up, actor=actor, enterprise_id=follow_up.enterprise_id,
                 changes={"done_at": [None, follow_up.done_at.isoformat()], "done_note": [None, follow_up.done_note]},
                 summary=f"{follow_up.enterprise.name} · {follow_up.action}")
    return True


# --- departments (转办) --------------------------------------------------------------------------

DEPARTMENT_FIELDS = ["name", "position", "active"]


def create_department(data: dict, *, actor) -> Department:
    """Add a department needs can be referred to."""
    department = Department(name=data["name"].strip(), position=data.get("position") or 0,
                            active=bool(data.get("active", True)))
    db.session.add(department)
    db.session.flush()
    audit.record(db.session, "create", department, actor=actor, changes=audit.snapshot(department, DEPARTMENT_FIELDS),
                 summary=department.name)
    return department


def update_department(department: Department, data: dict, *, actor) -> dict:
    """Rename a department, move it in the list, or take it out of use (referred needs keep it)."""
    changes = audit.apply_changes(department, {"name": data["name"].strip(), "position": data.get("position") or 0,
                                               "active": bool(data.get("active"))})
    if changes:
        db.session.flush()
        audit.record(db.session, "update", department, actor=actor, changes=changes, summary=department.name)
    return changes
