"""A/B/C/D grading (亩均效益): the grading model in the engine, cut-offs as scores or as shares of the county with
ties sharing the better grade, the yearly job, the grade on the enterprise page, the registry filter, the
dashboard counts."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.core import clock
from crm.ladder.engine import RuleSetError, ScoreModel, grade_scores
from crm.policies import jobs, queries
from crm.policies.models import EnterpriseGrade
from tests import factories
from tests.helpers import text

SHARES = {"mode": "share", "A": Decimal("0.2"), "B": Decimal("0.5"), "C": Decimal("0.8")}


def test_shares_of_the_population():
    scores = {n: Decimal(100 - n) for n in range(10)}  # 10 distinct scores
    grades = grade_scores(scores, SHARES)
    assert [grades[n] for n in range(10)] == ["A", "A", "B", "B", "B", "C", "C", "C", "D", "D"]


def test_ties_at_a_cut_off_share_the_better_grade_whatever_the_order():
    scores = {"a": Decimal(90), "b": Decimal(80), "c": Decimal(80), "d": Decimal(70), "e": Decimal(60),
              "f": Decimal(50), "g": Decimal(40), "h": Decimal(30), "i": Decimal(20), "j": Decimal(10)}
    grades = grade_scores(scores, SHARES)
    # A is 20% of 10 = 2: "a" (none ahead) and both 80s (one ahead) are A; "d" has three ahead: B
    assert (grades["a"], grades["b"], grades["c"], grades["d"]) == ("A", "A", "A", "B")
    assert grade_scores(dict(reversed(list(scores.items()))), SHARES) == grades
    assert grade_scores({"x": Decimal(5), "y": Decimal(5)}, SHARES) == {"x": "A", "y": "A"}


@pytest.mark.parametrize("score, grade", [("80", "A"), ("79.99", "B"), ("60", "B"), ("40", "C"), ("39.99", "D")])
def test_fixed_score_cut_offs(score, grade):
    cut = {"mode": "score", "A": Decimal(80), "B": Decimal(60), "C": Decimal(40)}
    assert grade_scores({"e": Decimal(score)}, cut) == {"e": grade}


def test_cut_offs_are_checked():
    data = {"id": "g", "label": {"zh": "评", "en": "g"},
            "indicators": [{"indicator": "tax_per_mu", "weight": 1, "bands": [{"min": 0, "points": 1}]}]}
    with pytest.raises(RuleSetError, match="shares must rise"):
        ScoreModel.from_dict({**data, "grades": {"mode": "share", "A": 0.5, "B": 0.2, "C": 0.8}})
    with pytest.raises(RuleSetError, match="fall from A"):
        ScoreModel.from_dict({**data, "grades": {"mode": "score", "A": 40, "B": 60, "C": 80}})
    assert queries.grading_model().grades["mode"] == "share"


def _figures(e, tax, land="10", energy="100", revenue="3000", rd="150"):
    return factories.figures(e, clock.today().year - 1, revenue=Decimal(revenue), rd_expense=Decimal(rd),
                             rd_expense_domestic=Decimal(rd), tax_paid=None if tax is None else Decimal(tax),
                             land_mu=None if land is None else Decimal(land), energy_tce=Decimal(energy))


def test_per_mu_indicators_at_their_bands():
    model = queries.grading_model()
    from crm.ladder.profile import parse_profile

    profile = parse_profile({"assessment_date": "2026-06-30", "figures": [
        {"year": 2025, "revenue": 3000, "rd_expense": 150}]})
    at = model.score(profile, {"tax_paid": Decimal(300), "land_mu": Decimal(10), "energy_tce": Decimal(600)})
    below = model.score(profile, {"tax_paid": Decimal("299.99"), "land_mu": Decimal(10), "energy_tce": Decimal(600)})
    assert at["parts"][0]["points"] == 100 and below["parts"][0]["points"] == 80  # 30 万元/亩 is the cut-off
    assert model.score(profile, {"tax_paid": Decimal(1)})["missing"] == ["tax_per_mu", "revenue_per_mu",
                                                                         "revenue_per_energy"]


@pytest.fixture
def graded(world, db):
    """County X: ent_x (best), the park (tied with ent_x), e3, e4, e5; county Y: ent_y alone; ent_z has no land."""
    _figures(world.ent_x, "400")
    _figures(world.ent_park, "400")
    extra = [factories.enterprise(world.county_x, name=f"兴庆{n}号有限公司") for n in range(3)]
    for e, tax in zip(extra, ("200", "100", "20"), strict=True):
        _figures(e, tax)
    _figures(world.ent_y, "10")
    _figures(world.ent_z, "400", land=None)
    db.session.commit()
    return extra


def test_the_job_grades_each_county_on_its_own_and_runs_twice_safely(world, graded, db):
    jobs.grade_enterprises(clock.today())
    jobs.grade_enterprises(clock.today())
    db.session.commit()
    grades = {g.enterprise_id: g.grade for g in db.session.scalars(select(EnterpriseGrade))}
    # county X has 5: A is 20% (1) — ent_x and the park tie on top, both A; 200 → B; 100 → C (3 ahead < 4); 20 → D
    assert grades == {world.ent_x.id: "A", world.ent_park.id: "A", graded[0].id: "B", graded[1].id: "C",
                      graded[2].id: "D", world.ent_y.id: "A"}  # alone in county Y: top of it
    assert len(grades) == 6  # ent_z has no land: not graded


def test_the_grade_shows_filters_the_registry_and_counts_on_the_dashboard(client, login_as, world, graded, db):
    jobs.grade_enterprises(clock.today())
    db.session.commit()
    login_as("manager", region=world.city)
    card = client.get(f"/policies/enterprises/{world.ent_x.id}").get_data(as_text=True)
    assert 'data-grade="A"' in card
    ungraded = factories.enterprise(world.county_x, name="无用地数据有限公司")
    db.session.commit()
    assert "data-grade" not in client.get(f"/policies/enterprises/{ungraded.id}").get_data(as_text=True)
    body = text(client.get("/enterprises?grade=A"))
    assert world.ent_x.name in body and world.ent_y.name in body and graded[0].name not in body
    assert graded[2].name in text(client.get("/enterprises?grade=D"))
    dashboard = client.get(f"/pipeline?region={world.county_x.id}").get_data(as_text=True)
    cells = dashboard.split('id="grades"')[1].split("</table>")[0]
    assert '<td class="num" data-grade="A"><a' in cells and ">2</a>" in cells


def test_figures_form_takes_the_optional_fields(client, login_as, world, db):
    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x])
    db.session.commit()
    login_as(officer)
    response = client.post(f"/enterprises/{world.ent_x.id}/figures/new",
                           data={"year": "2024", "revenue": "3000", "tax_paid": "120.5", "land_mu": "12",
                                 "energy_tce": "300"})
    assert response.status_code == 303
    row = world.ent_x.figures[0]
    db.session.refresh(row)
    assert (row.tax_paid, row.land_mu, row.energy_tce) == (Decimal("120.50"), Decimal("12.00"), Decimal("300.00"))
