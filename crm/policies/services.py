"""Writes on the policy catalogue: create, edit, deactivate, reactivate. Validate, flush and audit; callers commit.

A policy is never deleted: visits cite it. Deactivating takes it out of the visit form's
choices while the visits that cited it keep showing it.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.core import audit
from crm.core.validation import ValidationFailed
from crm.extensions import db
from crm.policies.models import Policy

POLICY_FIELDS = ["title", "issuer", "document_no", "summary", "opens_on", "closes_on", "active"]
# Column widths of crm.policies.models.Policy: the service refuses what the database would.
_MAX_LENGTHS = {"title": 160, "issuer": 120, "document_no": 80}


def _clean(data: dict) -> dict:
    """The policy's fields from `data`, text trimmed; refuse what breaks the catalogue's rules."""
    values = {name: data.get(name) for name in POLICY_FIELDS}
    for name in ("title", "issuer", "document_no", "summary"):
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
