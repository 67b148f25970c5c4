"""Innovation points (企业创新积分): the engine's scored model at its band cut-offs and weights, the ranking with
ties, and one step to fill the high_tech reserve pool (a coaching officer each, assigned when it had none, and a
coaching follow-up)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.core import clock
from crm.core.audit import AuditEvent
from crm.ladder.engine import RuleSetError, ScoreModel
from crm.ladder.profile import parse_profile
from crm.policies import queries
from crm.policies.models import ReservePoolEntry
from crm.service.models import Assignment, FollowUp
from tests import factories

MODEL = {"id": "t", "version": 3, "label": {"zh": "测试", "en": "test"}, "indicators": [
    {"indicator": "rd_intensity", "weight": 0.6,
     "bands": [{"min": 0.06, "points": 100}, {"min": 0.03, "points": 50}]},
    {"indicator": "rd_staff_share", "weight": 0.4, "bands": [{"above": 0.1, "points": 100}]}]}


def _profile(rd, revenue="1000", rd_staff=10, employees=100):
    return parse_profile({"assessment_date": "2026-06-30", "figures": [
        {"year": 2025, "revenue": revenue, "rd_expense": rd, "rd_staff": rd_staff, "employees": employees}]})


@pytest.mark.parametrize("rd, points", [("60", 100), ("59.99", 50), ("30", 50), ("29.99", 0)])
def test_points_at_the_band_cut_offs(rd, points):
    s = ScoreModel.from_dict(MODEL).score(_profile(rd, rd_staff=5))
    assert s["parts"][0]["points"] == points and s["total"] == Decimal(points) * Decimal("0.6")


@pytest.mark.parametrize("rd_staff, points", [(10, 0), (11, 100)])
def test_an_above_band_is_strict(rd_staff, points):
    assert ScoreModel.from_dict(MODEL).score(_profile("0", rd_staff=rd_staff))["parts"][1]["points"] == points


def test_weights_add_up_and_missing_figures_score_nothing_and_are_named():
    model = ScoreModel.from_dict(MODEL)
    assert model.score(_profile("60", rd_staff=20))["total"] == Decimal("100.00") == model.maximum
    s = model.score(_profile(None, rd_staff=20))
    assert s["total"] == Decimal("40.00") and s["missing"] == ["rd_intensity"]


def test_a_bad_model_is_refused_with_its_place():
    with pytest.raises(RuleSetError, match="indicators"):
        ScoreModel.from_dict({**MODEL, "indicators": [{"indicator": "luck", "weight": 1, "bands": []}]})
    with pytest.raises(RuleSetError, match="each indicator once"):
        ScoreModel.from_dict({**MODEL, "indicators": MODEL["indicators"] + MODEL["indicators"][:1]})


def test_the_shipped_model_compiles():
    model = queries.points_model()
    assert model.version >= 1 and model.maximum == Decimal(100)


@pytest.fixture
def ranked(world, db):
    """ent_x and ent_y tie (same figures), the park scores less, ent_z is another city's; a high_tech holder is out."""
    year = clock.today().year - 1
    for e, rd in ((world.ent_x, "200"), (world.ent_y, "200"), (world.ent_park, "50")):
        factories.figures(e, year, revenue=Decimal("3000"), rd_expense=Decimal(rd), rd_expense_domestic=Decimal(rd))
    holder = factories.enterprise(world.county_x, name="已是高企有限公司")
    factories.figures(holder, year, revenue=Decimal("3000"), rd_expense=Decimal("300"),
                      rd_expense_domestic=Decimal("300"))
    factories.certification(holder, "high_tech", issued_on=clock.today() - timedelta(days=30))
    manager = factories.user("manager", region=world.city)
    officer = factories.user("officer", region=world.county_x, name="官一", serves=[world.ent_x])
    factories.user("officer", region=world.county_y, name="西夏专员")
    db.session.commit()
    return {"manager": manager, "officer": officer, "holder": holder}


def test_the_ranking_shares_a_rank_on_ties_and_leaves_out_high_tech_holders(world, ranked, db):
    rows = queries.ranking(ranked["manager"])
    assert [(r.enterprise.name, r.rank) for r in rows] == [
        ("兴庆智能装备有限公司", 1), ("西夏生物科技有限公司", 1), ("园区新材料有限公司", 3)]
    assert rows[0].total == rows[1].total > rows[2].total
    assert [r.enterprise for r in queries.ranking(ranked["manager"], world.county_y.id)] == [world.ent_y]


def test_one_step_puts_the_top_in_the_pool_with_a_coach_and_a_follow_up(client, login_as, world, ranked, db):
    login_as(ranked["manager"])
    assert client.get("/policies/points").status_code == 200
    response = client.post("/policies/points/reserve", data={"top": "2"})
    assert response.status_code == 303
    entries = {e.enterprise_id: e for e in db.session.scalars(select(ReservePoolEntry))}
    assert set(entries) == {world.ent_x.id, world.ent_y.id}
    assert entries[world.ent_x.id].officer_id == ranked["officer"].id  # its own officer coaches it
    coach_y = entries[world.ent_y.id].officer
    assert coach_y.name == "西夏专员"  # it had none: the officer of its county, now assigned to it
    assert db.session.scalar(select(Assignment.officer_id).where(
        Assignment.enterprise_id == world.ent_y.id, Assignment.ends_on.is_(None))) == coach_y.id
    follow_ups = db.session.scalars(select(FollowUp).where(FollowUp.id.in_(
        [e.follow_up_id for e in entries.values()]))).all()
    assert {(f.enterprise_id, f.assignee_id) for f in follow_ups} == {
        (world.ent_x.id, ranked["officer"].id), (world.ent_y.id, coach_y.id)}
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == "reserve_pool_entries")) == 2
    # again: the top two are in already, the next one (the park) is added by ticking it; nothing twice
    client.post("/policies/points/reserve", data={"enterprise_ids": [str(world.ent_park.id), str(world.ent_x.id)]})
    assert db.session.scalar(select(func.count()).select_from(ReservePoolEntry)) == 3
    page = client.get("/policies/points").get_data(as_text=True)
    pool = page.split('id="reserve-pool"')[1].split("</ul>")[0]
    assert pool.count("data-enterprise=") == 3 and "西夏专员" in pool


def test_nothing_chosen_writes_nothing_and_officers_may_not(client, login_as, world, ranked, db):
    login_as(ranked["manager"])
    assert client.post("/policies/points/reserve", data={"top": "0"}).status_code == 303
    login_as(ranked["officer"])
    assert client.post("/policies/points/reserve", data={"top": "3"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ReservePoolEntry)) == 0


def test_a_county_manager_reserves_in_their_county_only(client, login_as, world, ranked, db):
    login_as(factories.user("manager", region=world.county_y))
    client.post("/policies/points/reserve", data={"enterprise_ids": [str(world.ent_x.id), str(world.ent_y.id)]})
    assert list(db.session.scalars(select(ReservePoolEntry.enterprise_id))) == [world.ent_y.id]
