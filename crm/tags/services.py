"""Writes on tags: keep the list, tag and untag an enterprise, refresh a rule tag. Validate, flush, audit; callers commit."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from crm.core import audit, clock
from crm.core.db import utcnow
from crm.core.validation import ValidationFailed
from crm.extensions import db
from crm.tags import queries
from crm.tags.models import EnterpriseTag, Tag, TagKind

TAG_FIELDS = ["name", "region_id", "kind", "active"]


def _clean(data: dict) -> dict:
    values = {name: data.get(name) for name in TAG_FIELDS}
    values["name"] = (values["name"] or "").strip()
    values["active"] = bool(data.get("active", True))
    errors: dict[str, list] = {}
    if not values["name"]:
        errors["name"] = [_l("This field is required.")]
    elif len(values["name"]) > 40:
        errors["name"] = [_l("At most %(max)d characters.", max=40)]
    if values["kind"] not in (TagKind.MANUAL, TagKind.RULE):
        errors["kind"] = [_l("Choose manual or by rule.")]
    if errors:
        raise ValidationFailed(errors)
    return values


def _clean_conditions(tag: Tag, conditions: dict) -> dict:
    """The conditions a rule tag keeps (empty ones dropped); refused when the engine cannot evaluate them."""
    if tag.kind != TagKind.RULE:
        return {}
    clean = {k: v for k, v in (conditions or {}).items()
             if k in queries.RULE_FIELDS and v not in (None, "", [], False)}
    if bool(clean.get("growth_field")) != bool(clean.get("min_growth_pct") not in (None, "")):
        raise ValidationFailed.one("min_growth_pct", _l("Give both the figure and the growth rate."))
    if clean.get("growth_field") not in (None, *queries.GROWTH_FIELDS):
        raise ValidationFailed.one("growth_field", _l("Not a figure whose growth can be measured."))
    if not clean:
        raise ValidationFailed.one("", _l("A tag by rule needs at least one condition."))
    old = tag.conditions
    tag.conditions = clean
    try:
        queries.ruleset_of(tag)
    except Exception as exc:  # noqa: BLE001 - a rule the engine refuses is the form's error, not a 500
        raise ValidationFailed.one("", _l("These conditions cannot be evaluated: %(reason)s", reason=str(exc))) from None
    finally:
        tag.conditions = old
    return clean


def _check_unique(tag: Tag | None, values: dict) -> None:
    # NULL regions never collide in a unique constraint: everyone's tags are checked here
    stmt = select(Tag.id).where(Tag.name == values["name"], Tag.region_id.is_(values["region_id"])
                                if values["region_id"] is None else Tag.region_id == values["region_id"])
    if tag is not None:
        stmt = stmt.where(Tag.id != tag.id)
    if db.session.scalar(stmt.limit(1)) is not None:
        raise ValidationFailed.one("name", _l("This region already has a tag of that name."))


def create_tag(data: dict, conditions: dict | None = None, *, actor) -> Tag:
    """Add a tag to the list (a rule tag with the conditions the engine evaluates)."""
    values = _clean(data)
    _check_unique(None, values)
    tag = Tag(**values, conditions={})
    tag.conditions = _clean_conditions(tag, conditions or {})
    tag.conditions_version = 1 if tag.conditions else 0
    db.session.add(tag)
    db.session.flush()
    audit.record(db.session, "create", tag, actor=actor, summary=tag.name,
                 changes={**audit.snapshot(tag, TAG_FIELDS), **({"conditions": [None, tag.conditions]}
                                                               if tag.conditions else {})})
    return tag


def update_tag(tag: Tag, data: dict, conditions: dict | None = None, *, actor) -> dict:
    """Change a tag; new conditions are a new version (audited old → new). Returns the changes."""
    values = _clean({**{n: getattr(tag, n) for n in TAG_FIELDS}, **data})
    if values["kind"] != tag.kind:
        raise ValidationFailed.one("kind", _l("A tag keeps its kind; add a new tag instead."))
    _check_unique(tag, values)
    clean = _clean_conditions(tag, conditions if conditions is not None else tag.conditions)
    changes = audit.apply_changes(tag, values)
    if clean != (tag.conditions or {}):
        changes["conditions"] = [tag.conditions, clean]
        changes["conditions_version"] = [tag.conditions_version, tag.conditions_version + 1]
        tag.conditions, tag.conditions_version = clean, tag.conditions_version + 1
    if changes:
        db.session.flush()
        audit.record(db.session, "update", tag, actor=actor, changes=changes, summary=tag.name)
    return changes


def tag_enterprise(enterprise, tag: Tag, *, actor) -> bool:
    """Put a manual tag on an enterprise; False when it already carries it."""
    if tag.kind != TagKind.MANUAL:
        raise ValidationFailed.one("tag_id", _l("Tags by rule are set by their conditions, not by hand."))
    if not tag.active or not queries.applies_to(tag, enterprise):
        raise ValidationFailed.one("tag_id", _l("This tag is not for this enterprise's region."))
    if db.session.get(EnterpriseTag, (enterprise.id, tag.id)) is not None:
        return False
    link = EnterpriseTag(enterprise_id=enterprise.id, tag_id=tag.id, tagged_by_id=getattr(actor, "id", None),
                         tagged_at=utcnow())
    db.session.add(link)
    db.session.flush()
    audit.record(db.session, "create", link, actor=actor, enterprise_id=enterprise.id,
                 changes={"tag": [None, tag.name]}, summary=f"{enterprise.name} · {tag.name}")
    return True


def untag_enterprise(enterprise, tag: Tag, *, actor) -> bool:
    """Take a manual tag off an enterprise; False when it did not carry it."""
    if tag.kind != TagKind.MANUAL:
        raise ValidationFailed.one("tag_id", _l("Tags by rule are set by their conditions, not by hand."))
    link = db.session.get(EnterpriseTag, (enterprise.id, tag.id))
    if link is None:
        return False
    db.session.delete(link)
    db.session.flush()
    audit.record(db.session, "delete", link, actor=actor, enterprise_id=enterprise.id,
                 changes={"tag": [tag.name, None]}, summary=f"{enterprise.name} · {tag.name}")
    return True


def refresh_rule_tag(tag: Tag, *, actor, today=None) -> tuple[int, int]:
    """Tag exactly the enterprises whose figures meet the rule tag's conditions now; (added, removed).

    Idempotent: a second run finds nothing to change and records nothing but the time of the refresh.
    """
    if tag.kind != TagKind.RULE:
        raise ValidationFailed.one("", _l("Only tags by rule are refreshed."))
    today = today or clock.today()
    should = queries.qualifying_ids(tag, today) if tag.active else set()
    has = set(db.session.scalars(select(EnterpriseTag.enterprise_id).where(EnterpriseTag.tag_id == tag.id)))
    added, removed = sorted(should - has), sorted(has - should)
    now = utcnow()
    db.session.add_all(EnterpriseTag(enterprise_id=eid, tag_id=tag.id, tagged_at=now) for eid in added)
    if removed:
        db.session.execute(delete(EnterpriseTag).where(EnterpriseTag.tag_id == tag.id,
                                                       EnterpriseTag.enterprise_id.in_(removed)))
    tag.refreshed_at = now
    db.session.flush()
    if added or removed:
        audit.record(db.session, "refresh", tag, actor=actor, summary=tag.name,
                     changes={"added": [None, len(added)], "removed": [None, len(removed)]})
    return len(added), len(removed)


def refresh_all(*, actor, today=None) -> tuple[int, int]:
    """Refresh every rule tag; the totals (added, removed)."""
    total = [0, 0]
    for tag in db.session.scalars(select(Tag).where(Tag.kind == TagKind.RULE).order_by(Tag.id)):
        a, r = refresh_rule_tag(tag, actor=actor, today=today)
        total[0] += a
        total[1] += r
    return total[0], total[1]
