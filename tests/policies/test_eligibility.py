"""A policy's conditions checked by the ladder's engine; matching, the push (informed → applied → granted) and
the three rates; a visit that explains a policy informs the enterprise."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.core import clock
from crm.core.validation import ValidationFailed
from crm.policies import queries, services
from crm.policies.models import PolicyPush
from crm.service import services as service_services
from tests import factories
from tests.helpers import text


@pytest.fixture
def people(world, db):
    p = {"manager": factories.user("manager", region=world.city),
         "county_manager": factories.user("manager", region=world.county_y),
         "officer": factories.user("officer", region=world.county_x, serves=[world.ent_x, world.ent_park])}
    db.session.commit()
    return p


def _figures(enterprise, employees, tech_staff, revenue="3000"):
    factories.figures(enterprise, clock.today().year - 1, employees=employees, tech_staff=tech_staff,
                      revenue=Decimal(revenue))


@pytest.mark.parametrize("tech_staff, eligible", [(10, True), (9, False)])
def test_a_ratio_condition_at_its_boundary(world, people, db, tech_staff, eligible):
    _figures(world.ent_x, 100, tech_staff)
    policy = factories.policy("研发后补助", conditions={"min_tech_staff_ratio": "10"})
    db.session.commit()
    m = queries.match(policy, people["manager"])
    assert (world.ent_x in [r.enterprise for r in m.eligible]) is eligible


def test_missing_data_is_a_maybe_with_the_reason(world, people, db):
    policy = factories.policy("科技贷", conditions={"min_revenue": "1000"})
    db.session.commit()
    m = queries.match(policy, people["manager"])
    row = next(r for r in m.maybe if r.enterprise == world.ent_x)
    assert any("1000" in reason for reason in row.reasons)


def test_tiers_held_and_revenue_bounds(world, people, db):
    _figures(world.ent_x, 100, 20, revenue="5000")
    _figures(world.ent_y, 100, 20, revenue="5000.01")
    factories.certification(world.ent_x, "high_tech", issued_on=clock.today() - timedelta(days=10))
    factories.certification(world.ent_y, "high_tech", issued_on=clock.today() - timedelta(days=10))
    policy = factories.policy("高企奖补", conditions={"tiers_held": ["high_tech"], "max_revenue": "5000"})
    db.session.commit()
    eligible = {r.enterprise for r in queries.match(policy, people["manager"]).eligible}
    assert eligible == {world.ent_x}  # 5000 passes "at most 5000"; 5000.01 does not; the park holds no tier


def test_push_states_and_the_three_rates(world, people, db):
    for e in (world.ent_x, world.ent_park, world.ent_y):
        _figures(e, 50, 10)
    policy = factories.policy("创新券", conditions={"min_tech_staff_ratio": "10"})
    db.session.commit()
    actor = people["manager"]
    services.set_push(policy, world.ent_x, "informed", actor=actor)
    services.set_push(policy, world.ent_x, "applied", actor=actor)
    services.set_push(policy, world.ent_x, "granted", actor=actor, amount=Decimal("30"))
    services.set_push(policy, world.ent_park, "informed", actor=actor)
    db.session.commit()
    m = queries.match(policy, actor)
    assert (len(m.eligible), m.informed, m.applied, m.granted, m.amount) == (3, 2, 1, 1, Decimal("30"))
    assert (m.rate(m.informed, 3), m.rate(m.applied, m.informed), m.rate(m.granted, m.applied)) == (
        Decimal("66.7"), Decimal("50.0"), Decimal("100.0"))
    with pytest.raises(ValidationFailed):
        services.set_push(policy, world.ent_y, "granted", actor=actor, amount=Decimal(1))  # not even informed
    services.set_push(policy, world.ent_park, "applied", actor=actor)
    with pytest.raises(ValidationFailed):
        services.set_push(policy, world.ent_park, "granted", actor=actor)  # granted needs the amount


def test_a_visit_explaining_the_policy_informs_the_enterprise(world, people, db):
    policy = factories.policy("研发费用加计扣除")
    db.session.commit()
    service_services.record_visit(world.ent_x, {"visited_on": clock.today(), "mode": "onsite", "summary": "宣讲",
                                                "policy_ids": [policy.id]}, actor=people["officer"])
    db.session.commit()
    push = db.session.scalar(select(PolicyPush))
    assert (push.enterprise_id, push.status, push.informed_on) == (world.ent_x.id, "informed", clock.today())
    # explaining it again changes nothing
    service_services.record_visit(world.ent_x, {"visited_on": clock.today(), "mode": "phone", "summary": "再宣讲",
                                                "policy_ids": [policy.id]}, actor=people["officer"])
    db.session.commit()
    assert len(db.session.scalars(select(PolicyPush)).all()) == 1


def test_a_county_manager_matches_only_their_county(world, people, db):
    policy = factories.policy("创新券")
    db.session.commit()
    m = queries.match(policy, people["county_manager"])
    assert {r.enterprise for r in m.eligible} == {world.ent_y}


def test_conditions_form_saves_a_new_version_and_refuses_bad_numbers(client, login_as, world, people, db):
    from crm.core.audit import AuditEvent

    policy = factories.policy("科技贷")
    db.session.commit()
    login_as(people["manager"])
    bad = client.post(f"/policies/{policy.id}/conditions", data={"min_revenue": "abc"})
    assert bad.status_code == 422
    ok = client.post(f"/policies/{policy.id}/conditions", data={"min_revenue": "2,000", "tiers_held": "tech_sme",
                                                                "clean_record": "y"})
    assert ok.status_code == 303
    db.session.refresh(policy)
    assert policy.conditions == {"min_revenue": "2000", "tiers_held": ["tech_sme"], "clean_record": True}
    assert policy.conditions_version == 1
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "policies")).changes[
        "conditions_version"] == [0, 1]
    page = text(client.get(f"/policies/{policy.id}"))
    assert "2000" in page and 'data-count="eligible"' in page


def test_the_push_form_moves_a_state_and_refuses_a_wrong_step(client, login_as, world, people, db):
    _figures(world.ent_x, 50, 10)
    policy = factories.policy("创新券")
    db.session.commit()
    login_as(people["officer"])
    url = f"/policies/{policy.id}/enterprises/{world.ent_x.id}/push"
    assert client.post(url, data={"status": "applied"}).status_code == 303  # refused: not informed yet
    assert db.session.scalar(select(PolicyPush)) is None
    assert client.post(url, data={"status": "informed"}).status_code == 303
    assert db.session.scalar(select(PolicyPush)).status == "informed"
    page = text(client.get(f"/policies/{policy.id}?tab=informed"))
    assert world.ent_x.name in page
