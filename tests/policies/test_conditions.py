"""Each policy condition at its boundary, evaluated by the ladder's engine through the batch matcher."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from crm.core import clock
from crm.policies import queries
from tests import factories


def _verdict(enterprise, conditions):
    policy = factories.policy("边界", conditions=conditions)
    return queries.verdicts([policy], [enterprise])[policy.id][enterprise.id][0]


@pytest.mark.parametrize("days_less, verdict", [(0, "ready"), (1, "not_ready")])
def test_age_at_its_boundary(world, db, days_less, verdict):
    world.ent_x.established_on = clock.today() - timedelta(days=365 * 3 - days_less)
    db.session.flush()
    assert _verdict(world.ent_x, {"min_age_years": 3}) == verdict


@pytest.mark.parametrize("rd, verdict", [("90.00", "ready"), ("89.99", "not_ready")])
def test_rd_ratio_at_its_boundary(world, db, rd, verdict):
    factories.figures(world.ent_x, clock.today().year - 1, revenue=Decimal("3000"), rd_expense=Decimal(rd),
                      rd_expense_domestic=Decimal(rd))
    assert _verdict(world.ent_x, {"min_rd_ratio": "3"}) == verdict


@pytest.mark.parametrize("revenue, verdict", [("999.99", "not_ready"), ("1000", "ready")])
def test_min_revenue_at_its_boundary(world, db, revenue, verdict):
    factories.figures(world.ent_x, clock.today().year - 1, revenue=Decimal(revenue),
                      hightech_revenue=Decimal("500"), rd_expense=Decimal("50"), rd_expense_domestic=Decimal("50"))
    assert _verdict(world.ent_x, {"min_revenue": "1000"}) == verdict


def test_a_tier_held_counts_while_valid_only(world, db):
    today = clock.today()
    factories.certification(world.ent_x, "tech_sme", issued_on=today - timedelta(days=100))
    # last year's registration: it expired on 31 December
    factories.certification(world.ent_y, "tech_sme", issued_on=today.replace(month=1, day=1) - timedelta(days=100))
    assert _verdict(world.ent_x, {"tiers_held": ["tech_sme", "high_tech"]}) == "ready"
    assert _verdict(world.ent_y, {"tiers_held": ["tech_sme"]}) == "not_ready"


def test_an_unknown_flag_is_a_maybe_and_says_what_is_missing(world, db):
    policy = factories.policy("守信", conditions={"clean_record": True})
    verdict, reasons = queries.verdicts([policy], [world.ent_x], lang="en")[policy.id][world.ent_x.id]
    assert verdict == "incomplete" and reasons == ["No serious breach of trust on record"]


def test_policies_with_the_same_conditions_share_an_evaluation_and_each_gets_its_verdict(world, db):
    factories.figures(world.ent_x, clock.today().year - 1, employees=100, tech_staff=10)
    same = [factories.policy(f"同条件{n}", conditions={"min_tech_staff_ratio": "10"}) for n in range(3)]
    other = factories.policy("不同条件", conditions={"min_tech_staff_ratio": "11"})
    found = queries.verdicts([*same, other], [world.ent_x, world.ent_y])
    assert [found[p.id][world.ent_x.id][0] for p in same] == ["ready"] * 3
    assert found[other.id][world.ent_x.id][0] == "not_ready"
    assert found[same[0].id][world.ent_y.id][0] == "incomplete"  # no figures: it might qualify
