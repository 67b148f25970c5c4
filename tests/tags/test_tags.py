"""Tags: manual ones put on by the officers who may edit the enterprise, rule ones decided by the ladder's
engine over the figures (refreshed by the job and on demand), shown on the enterprise page, filtering the registry."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.core import clock
from crm.core.audit import AuditEvent
from crm.core.validation import ValidationFailed
from crm.ladder.engine import RuleSet
from crm.ladder.profile import parse_profile
from crm.tags import jobs, queries, services
from crm.tags.models import EnterpriseTag, Tag
from tests import factories
from tests.helpers import text

LAST = clock.today().year - 1


@pytest.fixture
def people(world, db):
    p = {"admin": factories.user("admin"), "manager": factories.user("manager", region=world.city),
         "other_manager": factories.user("manager", region=world.other_city),
         "officer": factories.user("officer", region=world.county_x, serves=[world.ent_x]),
         "colleague": factories.user("officer", region=world.county_x)}
    db.session.commit()
    return p


def _rd(enterprise, before, last):
    factories.figures(enterprise, LAST - 1, rd_expense=Decimal(before), rd_expense_domestic=Decimal(before))
    factories.figures(enterprise, LAST, rd_expense=Decimal(last), rd_expense_domestic=Decimal(0))


def _growth_ruleset(pct="20"):
    from crm.tags.queries import criteria_of

    return RuleSet.from_dict({"id": "t", "version": 1, "tier": "policy", "label": {"zh": "t", "en": "t"},
                              "criteria": criteria_of({"growth_field": "rd_expense", "min_growth_pct": pct})})


@pytest.mark.parametrize("before, last, verdict", [("100", "120", "ready"), ("100", "119.99", "not_ready"),
                                                   ("0", "50", "not_ready"), (None, "50", "incomplete")])
def test_the_engine_measures_year_on_year_growth(before, last, verdict):
    figures = [{"year": 2024, "rd_expense": last}] + ([{"year": 2023, "rd_expense": before}] if before else [])
    result = _growth_ruleset().evaluate(parse_profile({"assessment_date": "2025-06-30", "figures": figures}), "en")
    assert result["verdict"] == verdict
    if verdict == "not_ready" and before == "100":
        assert "120.0" in result["criteria"][0]["gap"]["text"]  # what the latest year must reach


def _rule_tag(people, region=None, **conditions):
    tag = services.create_tag({"name": "研发高增长", "region_id": region, "kind": "rule"},
                              conditions or {"growth_field": "rd_expense", "min_growth_pct": "20"},
                              actor=people["admin"])
    return tag


def test_a_rule_tag_follows_the_figures_and_a_second_refresh_changes_nothing(world, people, db):
    _rd(world.ent_x, "100", "125")
    _rd(world.ent_y, "100", "110")
    tag = _rule_tag(people)
    assert services.refresh_rule_tag(tag, actor=people["admin"]) == (1, 0)
    db.session.commit()
    assert set(db.session.scalars(select(EnterpriseTag.enterprise_id).where(EnterpriseTag.tag_id == tag.id))) == {
        world.ent_x.id}
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert jobs.refresh_rule_tags(clock.today()) == "rule tags: 0 added, 0 removed"  # idempotent
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    # the figures change: the next refresh moves the tag
    for f in world.ent_y.figures:
        if f.year == LAST:
            f.rd_expense = Decimal("130")
    for f in world.ent_x.figures:
        if f.year == LAST:
            f.rd_expense = Decimal("101")
    db.session.commit()
    assert jobs.refresh_rule_tags(clock.today()) == "rule tags: 1 added, 1 removed"
    assert [t.name for t in queries.tags_of(world.ent_y)] == ["研发高增长"] and queries.tags_of(world.ent_x) == []


def test_a_regional_rule_tag_looks_only_at_its_region(world, people, db):
    _rd(world.ent_x, "100", "150")
    _rd(world.ent_y, "100", "150")
    tag = _rule_tag(people, region=world.county_y.id)
    services.refresh_rule_tag(tag, actor=people["admin"])
    assert queries.tags_of(world.ent_y) and not queries.tags_of(world.ent_x)


def test_rule_conditions_the_engine_refuses_or_half_given_are_form_errors(world, people, db):
    with pytest.raises(ValidationFailed):
        _rule_tag(people, growth_field="rd_expense")  # no rate
    with pytest.raises(ValidationFailed):
        services.create_tag({"name": "空规则", "region_id": None, "kind": "rule"}, {}, actor=people["admin"])


def test_a_manager_keeps_tags_in_the_region_and_an_officer_tags_what_they_serve(client, login_as, world, people, db):
    login_as(people["manager"])
    response = client.post("/tags/new", data={"name": "重点关注", "region_id": world.county_x.id, "kind": "manual",
                                              "active": "y"})
    assert response.status_code == 303
    tag = db.session.scalar(select(Tag).where(Tag.name == "重点关注"))
    assert tag.region_id == world.county_x.id
    # the same name in the same region is refused next to the field, nothing written
    again = client.post("/tags/new", data={"name": "重点关注", "region_id": world.county_x.id, "kind": "manual"})
    assert again.status_code == 422 and db.session.scalar(select(func.count()).select_from(Tag)) == 1
    # another city's manager neither sees nor edits it
    login_as(people["other_manager"])
    assert client.get(f"/tags/{tag.id}/edit").status_code == 404
    assert "重点关注" not in text(client.get("/tags"))

    login_as(people["officer"])
    page = text(client.get(f"/enterprises/{world.ent_x.id}"))
    assert 'id="add-tag"' in page
    assert client.post(f"/enterprises/{world.ent_x.id}/tags", data={"tag_id": tag.id}).status_code == 303
    assert [t.name for t in queries.tags_of(world.ent_x)] == ["重点关注"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "enterprise_tags"))
    assert event.enterprise_id == world.ent_x.id and event.changes == {"tag": [None, "重点关注"]}
    assert 'data-tag="重点关注"' in text(client.get(f"/enterprises/{world.ent_x.id}"))
    # the registry filters by the tag
    listed = text(client.get(f"/enterprises?tag={tag.id}"))
    assert world.ent_x.name in listed and world.ent_park.name not in listed
    # a colleague who does not serve the enterprise may not tag it
    login_as(people["colleague"])
    assert client.post(f"/enterprises/{world.ent_x.id}/tags/{tag.id}/remove").status_code == 403
    login_as(people["officer"])
    assert client.post(f"/enterprises/{world.ent_x.id}/tags/{tag.id}/remove").status_code == 303
    assert queries.tags_of(world.ent_x) == []


def test_rule_tags_and_tags_of_another_region_are_not_put_on_by_hand(world, people, db):
    rule = _rule_tag(people)
    other = services.create_tag({"name": "石嘴山重点", "region_id": world.other_city.id, "kind": "manual"},
                                actor=people["admin"])
    for tag in (rule, other):
        with pytest.raises(ValidationFailed):
            services.tag_enterprise(world.ent_x, tag, actor=people["officer"])
    assert other not in queries.taggable(people["officer"], world.ent_x)


def test_refresh_on_demand_from_the_list(client, login_as, world, people, db):
    _rd(world.ent_x, "100", "125")
    tag = _rule_tag(people, region=world.county_x.id)
    db.session.commit()
    login_as(people["manager"])
    assert client.post(f"/tags/{tag.id}/refresh").status_code == 303
    assert [t.name for t in queries.tags_of(world.ent_x)] == ["研发高增长"]
    page = text(client.get("/tags"))
    assert "研发高增长" in page


def test_the_job_is_registered():
    from crm.notify.scheduler import job_by_id

    assert job_by_id("tags.refresh_rule_tags") is not None


def test_editing_a_rule_tag_is_a_new_version_and_refreshes_it(client, login_as, world, people, db):
    _rd(world.ent_x, "100", "115")
    tag = _rule_tag(people, region=world.county_x.id)
    db.session.commit()
    login_as(people["manager"])
    form = text(client.get(f"/tags/{tag.id}/edit"))
    assert 'value="rd_expense" selected' in form or 'selected value="rd_expense"' in form
    response = client.post(f"/tags/{tag.id}/edit", data={"name": "研发高增长", "region_id": world.county_x.id,
                                                         "kind": "rule", "active": "y", "growth_field": "rd_expense",
                                                         "min_growth_pct": "10"})
    assert response.status_code == 303
    db.session.refresh(tag)
    assert (tag.conditions["min_growth_pct"], tag.conditions_version) == ("10", 2)
    assert [t.name for t in queries.tags_of(world.ent_x)] == ["研发高增长"]  # 15 % now qualifies
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "tags", AuditEvent.action == "update"))
    assert event.changes["conditions_version"] == [1, 2]
    # the kind stays
    refused = client.post(f"/tags/{tag.id}/edit", data={"name": "研发高增长", "region_id": world.county_x.id,
                                                        "kind": "manual"})
    assert refused.status_code == 422
