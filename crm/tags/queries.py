"""Reads of the tags: the list a user sees, the tags of an enterprise, a rule tag's criteria and verdicts."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from crm.core.policy import Role, can
from crm.enterprises.models import Enterprise, EnterpriseStatus
from crm.enterprises.queries import nearby_region_filter, subtree_ids
from crm.extensions import db
from crm.tags.models import EnterpriseTag, Tag, TagKind

# A rule tag's conditions: the policy conditions' fields (crm.policies.queries) and a year-on-year growth.
GROWTH_FIELDS = ("rd_expense", "revenue", "hightech_revenue")
RULE_FIELDS = ("tiers_held", "min_revenue", "min_rd_ratio", "min_tech_staff_ratio", "growth_field",
               "min_growth_pct")


def visible_tags(user, *, kind: str | None = None, active_only: bool = True) -> list[Tag]:
    """The tags `user` sees: everyone's, their region's subtree and the regions above it; by name."""
    stmt = select(Tag).where(nearby_region_filter(Tag.region_id, user))
    if kind:
        stmt = stmt.where(Tag.kind == kind)
    if active_only:
        stmt = stmt.where(Tag.active.is_(True))
    return list(db.session.scalars(stmt.order_by(Tag.name, Tag.id)))


def get_tag_for(user, tag_id: int) -> Tag | None:
    """The tag if `user` sees it, else None (404)."""
    tag = db.session.get(Tag, tag_id)
    if tag is None or tag not in visible_tags(user, active_only=False):
        return None
    return tag


def can_manage_tag(user, tag: Tag) -> bool:
    """Admins keep every tag; a manager those of their region's subtree (everyone's tags are the admin's)."""
    if not can(user, "tags.manage"):
        return False
    if user.role == Role.ADMIN:
        return True
    return tag.region_id is not None and tag.region_id in subtree_ids(user.region_id)


def applies_to(tag: Tag, enterprise: Enterprise) -> bool:
    """Whether the tag's region covers the enterprise (everyone's tags cover all)."""
    return tag.region_id is None or enterprise.region_id in subtree_ids(tag.region_id)


def tags_of(enterprise: Enterprise) -> list[Tag]:
    """The enterprise's tags, by name (one query)."""
    return list(db.session.scalars(select(Tag).join(EnterpriseTag, EnterpriseTag.tag_id == Tag.id).where(
        EnterpriseTag.enterprise_id == enterprise.id, Tag.active.is_(True)).order_by(Tag.name)))


def taggable(user, enterprise: Enterprise) -> list[Tag]:
    """The manual tags `user` may put on this enterprise and it does not carry yet."""
    held = {t.id for t in tags_of(enterprise)}
    return [t for t in visible_tags(user, kind=TagKind.MANUAL)
            if t.id not in held and applies_to(t, enterprise)]


def criteria_of(conditions: dict) -> list[dict]:
    """The engine's criteria for a rule tag's conditions (the policies' conditions, then the growth)."""
    from crm.ladder.engine import FIELD_NAMES
    from crm.policies.queries import criteria_of as policy_criteria

    c = conditions or {}
    out = policy_criteria({k: v for k, v in c.items() if k not in ("growth_field", "min_growth_pct")})
    if c.get("growth_field") and c.get("min_growth_pct") not in (None, ""):
        field, pct = c["growth_field"], c["min_growth_pct"]
        zh, en = FIELD_NAMES.get(field, (field, field))[:2]
        out.append({"id": "t_growth", "kind": "growth", "field": field, "op": ">=", "min": float(pct) / 100,
                    "label": {"zh": f"{zh}同比增长不低于 {pct}%", "en": f"{en} grew at least {pct}% year on year"}})
    return out


def ruleset_of(tag: Tag):
    """The rule tag's conditions as a rule set of the ladder's engine (subject "policy": no tier)."""
    from crm.ladder.engine import POLICY_SUBJECT, RuleSet

    return RuleSet.from_dict({"id": f"tag-{tag.id or 0}", "version": tag.conditions_version or 0, "tier": POLICY_SUBJECT,
                              "label": {"zh": tag.name, "en": tag.name}, "criteria": criteria_of(tag.conditions)})


def qualifying_ids(tag: Tag, today: date) -> set[int]:
    """Ids of the operating enterprises in the tag's region whose figures meet its conditions (verdict ready)."""
    from crm.ladder.profile import parse_profile
    from crm.ladder.queries import profiles_of

    ruleset = ruleset_of(tag)
    if not ruleset.active:  # a rule tag without conditions tags nobody
        return set()
    stmt = select(Enterprise).where(Enterprise.archived_at.is_(None), Enterprise.status == EnterpriseStatus.ACTIVE)
    if tag.region_id is not None:
        stmt = stmt.where(Enterprise.region_id.in_(subtree_ids(tag.region_id)))
    enterprises = list(db.session.scalars(stmt))
    profiles = profiles_of(enterprises, today)
    return {e.id for e in enterprises
            if ruleset.evaluate(parse_profile(profiles[e.id]), "en")["verdict"] == "ready"}


def tag_counts(tag_ids: list[int]) -> dict[int, int]:
    """{tag id: enterprises carrying it} (one query)."""
    from sqlalchemy import func

    if not tag_ids:
        return {}
    return dict(db.session.execute(select(EnterpriseTag.tag_id, func.count()).where(
        EnterpriseTag.tag_id.in_(tag_ids)).group_by(EnterpriseTag.tag_id)).all())
