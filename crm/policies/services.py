"""Writes on the policy catalogue: create, edit, deactivate, reactivate. Validate, flush and audit; callers commit.

A policy is never deleted: visits cite it. Deactivating takes it out of the visit form's
choices while the visits that cited it keep showing it.

The stored match (policy_matches, issue 10: "computed for the whole registry in a batch"): `refresh_matches`
evaluates enterprises × policies with the one evaluator (crm.policies.queries `verdicts`, profiles in bulk) and
replaces their rows. Chosen: direct calls, not a stale-marker table. The writes that change what the engine
sees re-match in the same unit of work: a policy created or its conditions saved → that policy × every operating
enterprise (one batch, a constant number of queries per 2,000 enterprises; the one slow save, by a manager, rare);
an enterprise's figures, certifications, IP items, readiness inputs or record (status, founding date, region)
changed → that enterprise × every policy through `rematch_enterprises` (≈ 10 queries, a few ms), which an import
defers to one batch at its end (`matches_deferred`). The hooks import this module inside the function, so
crm.enterprises and crm.ladder do not depend on crm.policies at load time (no import cycle). What no service sees
— rows written directly (demo, bench), an enterprise or policy added by such a path, time passing (a certificate
expiring, an enterprise coming of age) — is caught by the scheduler: every 5 minutes `refresh_stale_matches`
computes the pairs missing or left by an older version of the conditions, every night `refresh_matches()`
rebuilds all. The readers (crm.policies.queries) read the rows with grouped SQL and compute the pairs still
missing in the request first (`ensure_matches`). Rows exist for every policy (active or not: an inactive
policy's page still shows its matches) × every operating enterprise.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.core import audit
from crm.core.derived import DeferrableRefresh
from crm.core.validation import ValidationFailed
from crm.extensions import db
from crm.policies.models import Policy, PolicyPush

POLICY_FIELDS = ["title", "issuer", "document_no", "summary", "opens_on", "closes_on", "active", "benefit",
                 "cap_amount"]
# Column widths of crm.policies.models.Policy: the service refuses what the database would.
_MAX_LENGTHS = {"title": 160, "issuer": 120, "document_no": 80}


def _clean(data: dict) -> dict:
    """The policy's fields from `data`, text trimmed; refuse what breaks the catalogue's rules."""
    values = {name: data.get(name) for name in POLICY_FIELDS}
    for name in ("title", "issuer", "document_no", "summary", "benefit"):
        values[name] = (values[name] or "").strip()
    values["active"] = bool(data.get("active", True))
    errors: dict[str, list] = {}
    if not values["title"]:
        errors["title"] = [_l("This field is required.")]
    for name, limit in _MAX_LENGTHS.items():
        if len(values[name]) > limit:
            errors.setdefault(name, []).append(_l("At most %(max)d characters.", max=limit))
    opens, closes = values.get("opens_on"), values.get("closes_on")
    if opens is not None and closes is not None and closes < opens:
        errors["closes_on"] = [_l("The application window cannot close before it opens.")]
    if errors:
        raise ValidationFailed(errors)
    return values


def create_policy(data: dict, *, actor) -> Policy:
    """Add a policy to the catalogue (title required, window closing on or after it opens)."""
    policy = Policy(**_clean(data))
    db.session.add(policy)
    db.session.flush()
    audit.record(db.session, "create", policy, actor=actor, changes=audit.snapshot(policy, POLICY_FIELDS),
                 summary=policy.title)
    refresh_matches(policy_ids=[policy.id])
    return policy


def update_policy(policy: Policy, data: dict, *, actor) -> dict:
    """Change the fields given in `data`; returns the changes recorded (none: nothing written)."""
    current = {name: getattr(policy, name) for name in POLICY_FIELDS}
    changes = audit.apply_changes(policy, _clean({**current, **data}))
    if changes:
        db.session.flush()
        audit.record(db.session, "update", policy, actor=actor, changes=changes, summary=policy.title)
    return changes


def _set_active(policy: Policy, active: bool, action: str, actor) -> bool:
    if policy.active == active:
        return False
    policy.active = active
    db.session.flush()
    audit.record(db.session, action, policy, actor=actor, changes={"active": [not active, active]},
                 summary=policy.title)
    return True


def deactivate_policy(policy: Policy, *, actor) -> bool:
    """Take the policy out of the visit form's choices (visits that cited it keep it); False if it was inactive."""
    return _set_active(policy, False, "deactivate", actor)


def reactivate_policy(policy: Policy, *, actor) -> bool:
    """Offer the policy in the visit form again; False if it was active."""
    return _set_active(policy, True, "reactivate", actor)


# --- eligibility conditions and the push ---------------------------------------------------------------------

def save_conditions(policy: Policy, conditions: dict, *, actor) -> bool:
    """Save the policy's eligibility conditions as a new version (audited old → new); False when unchanged."""
    from crm.policies.queries import CONDITION_FIELDS, ruleset_of

    clean = {k: v for k, v in conditions.items() if k in CONDITION_FIELDS and v not in (None, "", [], False)}
    if clean == (policy.conditions or {}):
        return False
    old = policy.conditions
    policy.conditions = clean
    try:
        ruleset_of(policy)  # the engine must accept them
    except Exception as exc:  # noqa: BLE001 - a rule the engine refuses is the form's error, not a 500
        policy.conditions = old
        reason = str(exc)
        raise ValidationFailed.one("", _l("These conditions cannot be evaluated: %(reason)s", reason=reason)) from None
    policy.conditions_version = (policy.conditions_version or 0) + 1
    db.session.flush()
    audit.record(db.session, "update", policy, actor=actor, summary=policy.title,
                 changes={"conditions": [old, clean], "conditions_version": [policy.conditions_version - 1,
                                                                           policy.conditions_version]})
    refresh_matches(policy_ids=[policy.id])
    return True


# The push steps the credit screening refuses for an enterprise on a negative list: pushing the policy to it and
# recording it as applying (the decision, granted or not, is the funder's and is still recorded).
SCREENED_PUSH_STATUSES = frozenset({"informed", "applied"})


def set_push(policy: Policy, enterprise, status: str, *, actor, amount=None, on=None,
             incidental: bool = False) -> PolicyPush:
    """Move an enterprise's push along informed → applied → granted | not granted (allowed steps only).

    An enterprise on a negative list (crm.credit) is not pushed a policy nor recorded as applying; `incidental`
    marks a visit or an event that told of the policy in passing (mark_informed), which is not a proposal."""
    from crm.core import clock
    from crm.credit.queries import refuse_listed
    from crm.policies.models import PUSH_STATUS_LABELS, PUSH_TRANSITIONS

    on = on or clock.today()
    push = db.session.scalar(select(PolicyPush).where(PolicyPush.policy_id == policy.id,
                                                      PolicyPush.enterprise_id == enterprise.id))
    current = push.status if push else ""
    if status not in PUSH_TRANSITIONS.get(current, ()):
        raise ValidationFailed.one("status", _l("“%(current)s” cannot become “%(target)s”.",
                                                current=PUSH_STATUS_LABELS[current],
                                                target=PUSH_STATUS_LABELS.get(status, status)))
    if status == "granted" and (amount is None or amount < 0):
        raise ValidationFailed.one("amount", _l("Say how much was granted (10k CNY)."))
    if status in SCREENED_PUSH_STATUSES and not (incidental and status == "informed"):
        refuse_listed([enterprise], "status")
    if push is None:
        push = PolicyPush(policy_id=policy.id, enterprise_id=enterprise.id, status=status)
        db.session.add(push)
    old = current
    push.status, push.updated_by_id = status, getattr(actor, "id", None)
    if status == "informed":
        push.informed_on = push.informed_on or on
    elif status == "applied":
        push.applied_on = push.applied_on or on
    elif status in ("granted", "not_granted"):
        push.decided_on = on
        push.amount = amount if status == "granted" else None
    db.session.flush()
    audit.record(db.session, "status", push, actor=actor, enterprise_id=enterprise.id,
                 changes={"status": [old or None, status], **({"amount": [None, str(amount)]} if amount else {})},
                 summary=f"{enterprise.name} · {policy.title}")
    return push


def mark_informed(enterprise, policies, *, actor, on) -> int:
    """A visit that explained policies informs the enterprise of each it had not been told of; returns how many."""
    told = set(db.session.scalars(select(PolicyPush.policy_id).where(
        PolicyPush.enterprise_id == enterprise.id, PolicyPush.policy_id.in_([p.id for p in policies]))))
    n = 0
    for policy in policies:
        if policy.id not in told:
            set_push(policy, enterprise, "informed", actor=actor, on=on, incidental=True)
            n += 1
    return n


# --- the high_tech reserve pool (后备库) --------------------------------------------------------------------

def add_to_reserve_pool(rows, *, actor, coaches: dict | None = None, today=None) -> list:
    """Put ranked enterprises (crm.policies.queries.Ranked) in the high_tech reserve pool, each with one coaching
    officer: the one named in `coaches` {enterprise id: officer}, else its current officer, else the first officer
    who may serve it. An enterprise without an officer is assigned to its coach; each gets a coaching follow-up.
    Those already in the pool are left as they are. Returns the new entries."""
    from datetime import timedelta

    from flask_babel import gettext as _

    from crm.auth.models import User
    from crm.core import clock
    from crm.credit.queries import refuse_listed
    from crm.policies.models import ReservePoolEntry
    from crm.policies.queries import POOL_TIER, points_model
    from crm.service import queries as service_queries
    from crm.service import services as service_services
    from crm.service.models import FollowUpSource

    today = today or clock.today()
    version = points_model().version
    coaches = coaches or {}
    created = []
    refuse_listed([row.enterprise for row in rows], "")  # an enterprise on a negative list is not proposed
    for row in rows:
        e = row.enterprise
        if row.entry is not None or db.session.scalar(select(ReservePoolEntry.id).where(
                ReservePoolEntry.enterprise_id == e.id, ReservePoolEntry.tier == POOL_TIER)):
            continue
        officer = coaches.get(e.id) or (db.session.get(User, row.officer_id) if row.officer_id else None)
        if officer is None:
            candidates = service_queries.officers_for(e)
            officer = candidates[0] if candidates else None
        if officer is None:
            raise ValidationFailed.one("", _l("No officer may serve %(name)s: add one for its region first.",
                                              name=e.name))
        if service_queries.current_assignment(e) is None:
            service_services.assign_enterprise(e, officer, actor=actor)
        follow_up = service_services.add_follow_up(e, {
            # stored text, in the language of whoever confirms (like the job's follow-ups)
            "action": _("High-tech reserve pool: one-to-one coaching toward the high-tech certification "
                        "(%(points)s innovation points)", points=row.total),
            "assignee_id": officer.id, "due_on": today + timedelta(days=14)}, actor=actor,
            source=FollowUpSource.READINESS)
        entry = ReservePoolEntry(enterprise_id=e.id, tier=POOL_TIER, officer_id=officer.id, points=row.total,
                                 model_version=version, added_on=today, added_by_id=getattr(actor, "id", None),
                                 follow_up_id=follow_up.id)
        db.session.add(entry)
        db.session.flush()
        audit.record(db.session, "create", entry, actor=actor, enterprise_id=e.id, summary=e.name,
                     changes={"tier": [None, POOL_TIER], "officer_id": [None, officer.id],
                              "points": [None, str(row.total)]})
        created.append(entry)
    return created


# --- A/B/C/D grading --------------------------------------------------------------------------------------------

def save_grades(year: int, rows, *, model_version: int) -> dict[str, int]:
    """Store a year's grades (crm.policies.queries.compute_grades): new rows added, changed ones updated, those
    no longer graded removed; computed data, so the count goes in the job's run, not the audit trail."""
    from crm.policies.models import EnterpriseGrade

    existing = {g.enterprise_id: g for g in db.session.scalars(select(EnterpriseGrade).where(
        EnterpriseGrade.year == year))}
    counts = {"added": 0, "changed": 0, "removed": 0}
    seen = set()
    for enterprise_id, score, grade in rows:
        seen.add(enterprise_id)
        row = existing.get(enterprise_id)
        if row is None:
            db.session.add(EnterpriseGrade(enterprise_id=enterprise_id, year=year, score=score, grade=grade,
                                           model_version=model_version))
            counts["added"] += 1
        elif (row.score, row.grade, row.model_version) != (score, grade, model_version):
            row.score, row.grade, row.model_version = score, grade, model_version
            counts["changed"] += 1
    for enterprise_id, row in existing.items():
        if enterprise_id not in seen:
            db.session.delete(row)
            counts["removed"] += 1
    db.session.flush()
    return counts


# --- the stored match (policy_matches): every enterprise × policy verdict, kept current (see the module docstring)

MATCH_CHUNK = 2000  # enterprises evaluated per batch: bounds the memory of a province-wide refresh
_ID_CHUNK = 900  # ids per IN (…) list (SQLite's variable limit, PostgreSQL's planner)


def refresh_matches(enterprise_ids=None, policy_ids=None, *, today=None) -> int:
    """Re-evaluate these enterprises × these policies (None: all) and replace their stored verdicts (delete +
    bulk insert, flushed; no audit: derived data); returns the rows written."""
    from datetime import UTC, datetime

    from sqlalchemy import delete

    from crm.core import clock
    from crm.enterprises.models import Enterprise
    from crm.policies.models import PolicyMatch
    from crm.policies.queries import operating, verdicts

    today = today or clock.today()
    db.session.flush()  # the caller's pending changes are what the engine must see
    stmt = select(Policy).order_by(Policy.id)
    if policy_ids is not None:
        policy_ids = sorted(set(policy_ids))
        stmt = stmt.where(Policy.id.in_(policy_ids))
    policies = list(db.session.scalars(stmt))
    if enterprise_ids is not None:
        enterprise_ids = sorted(set(enterprise_ids))
    table = PolicyMatch.__table__

    def scoped(stmt, ids=None):
        if policy_ids is not None:
            stmt = stmt.where(table.c.policy_id.in_(policy_ids))
        return stmt.where(table.c.enterprise_id.in_(ids)) if ids is not None else stmt

    if enterprise_ids is None:
        db.session.execute(scoped(delete(table)))
        ids = list(db.session.scalars(operating(select(Enterprise.id)).order_by(Enterprise.id)))
    else:
        for start in range(0, len(enterprise_ids), _ID_CHUNK):
            db.session.execute(scoped(delete(table), enterprise_ids[start:start + _ID_CHUNK]))
        ids = enterprise_ids
    if not policies or not ids:
        return 0
    now = datetime.now(UTC)
    written = 0
    for start in range(0, len(ids), MATCH_CHUNK):
        chunk = ids[start:start + MATCH_CHUNK]
        known = {id(o) for o in db.session.identity_map.values()}
        enterprises = []
        for at in range(0, len(chunk), _ID_CHUNK):
            enterprises += db.session.scalars(operating(select(Enterprise)).where(
                Enterprise.id.in_(chunk[at:at + _ID_CHUNK]))).all()
        found = verdicts(policies, enterprises, today, reasons_as="id")
        rows = [{"policy_id": p.id, "enterprise_id": e.id, "verdict": found[p.id][e.id][0],
                 "missing": found[p.id][e.id][1], "conditions_version": p.conditions_version or 0, "computed_at": now}
                for p in policies for e in enterprises]
        if rows:
            _upsert(table, rows)
            written += len(rows)
        for e in enterprises:  # a province's worth of enterprises would otherwise stay in the identity map
            if id(e) not in known:
                db.session.expunge(e)
    return written


# the services' hook: re-match now, or once at the end of a `matches_deferred()` block (an import)
_rematches = DeferrableRefresh("policy_matches_deferred", lambda ids: refresh_matches(ids))


def rematch_enterprises(enterprise_ids) -> None:
    """The hook of the enterprise and ladder services: re-match these enterprises against every policy now, or at
    the end of the enclosing `matches_deferred()` block (an import)."""
    _rematches.request(enterprise_ids)


def matches_deferred():
    """Collect the enterprises the services touch inside the block and re-match them in one batch when it ends
    without an error (an import of 10,000 rows: one refresh, not 10,000)."""
    return _rematches.deferred()


def refresh_stale_matches(*, today=None) -> int:
    """Refresh the pairs missing from policy_matches or computed for an older version of the conditions, and drop
    the rows of enterprises that no longer operate; returns the rows written."""
    from sqlalchemy import delete

    from crm.enterprises.models import Enterprise
    from crm.policies.models import PolicyMatch
    from crm.policies.queries import missing_matches, operating

    table = PolicyMatch.__table__
    gone = select(table.c.id).where(table.c.enterprise_id.not_in(operating(select(Enterprise.id))))
    db.session.execute(delete(table).where(table.c.id.in_(gone)))
    policy_ids = list(db.session.scalars(select(Policy.id)))
    return fill_missing(missing_matches(policy_ids, operating(select(Enterprise.id))), today=today)


def _upsert(table, rows: list[dict]) -> None:
    from crm.core.db import upsert

    upsert(db.session, table, rows, ("policy_id", "enterprise_id"))


def fill_missing(missing: set[tuple[int, int]], *, today=None) -> int:
    """Compute the (policy id, enterprise id) pairs given: per policy when most of the registry lacks it, else
    those enterprises × those policies (a superset, replaced whole)."""
    if not missing:
        return 0
    policy_ids = {p for p, _e in missing}
    enterprise_ids = {e for _p, e in missing}
    if len(enterprise_ids) > _ID_CHUNK:
        return refresh_matches(policy_ids=policy_ids, today=today)
    return refresh_matches(enterprise_ids, policy_ids, today=today)
