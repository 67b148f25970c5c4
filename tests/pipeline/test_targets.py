"""Targets: pace and lights at the boundaries, roll-up of sub-regions, scoping, the edit form, forecasts."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.pipeline import queries, services
from crm.pipeline.models import Target
from tests import factories
from tests.helpers import text

M = Decimal("0.10")


@pytest.mark.parametrize("today, fraction", [
    (date(2026, 1, 1), Decimal(1) / 365), (date(2026, 7, 2), Decimal(183) / 365), (date(2026, 12, 31), Decimal(1)),
    (date(2025, 12, 31), Decimal(0)), (date(2027, 1, 1), Decimal(1)),
])
def test_year_fraction(today, fraction):
    assert queries.year_fraction(2026, today) == fraction


@pytest.mark.parametrize("actual, fraction, light", [
    ("50", "0.5", "green"),      # exactly on pace
    ("51", "0.5", "green"),
    ("45", "0.5", "yellow"),     # behind by exactly the margin: still yellow
    ("44.99", "0.5", "red"),
    ("0", "0", "green"),         # before the year starts nothing is expected
    ("99", "1", "yellow"),       # the last day: the whole target is expected
    ("100", "1", "green"),
])
def test_counts_of_the_year_are_paced_from_zero(actual, fraction, light):
    got, expected = queries.judge("new_certs", Decimal(100), Decimal(actual), None, Decimal(fraction), M)
    assert got == light and expected == (Decimal(100) * Decimal(fraction)).quantize(Decimal("0.01"))


def test_a_stock_is_paced_from_where_the_year_started():
    # 40 valid at the start, target 60: half-way through the year 50 are expected
    assert queries.judge("valid_count", Decimal(60), Decimal(50), Decimal(40), Decimal("0.5"), M) == ("green",
                                                                                                       Decimal(50))
    assert queries.judge("valid_count", Decimal(60), Decimal(45), Decimal(40), Decimal("0.5"), M)[0] == "yellow"
    assert queries.judge("valid_count", Decimal(60), Decimal(44), Decimal(40), Decimal("0.5"), M)[0] == "red"


def test_a_rate_is_held_to_its_target_all_year():
    assert queries.judge("resolution_rate", Decimal(80), Decimal(80), None, Decimal("0.01"), M)[0] == "green"
    assert queries.judge("resolution_rate", Decimal(80), Decimal(72), None, Decimal("0.01"), M)[0] == "yellow"
    assert queries.judge("resolution_rate", Decimal(80), Decimal(71.9), None, Decimal("0.99"), M)[0] == "red"
    assert queries.judge("resolution_rate", None, Decimal(50), None, Decimal("0.5"), M) == ("", None)


def _gain(enterprise, tier, day):
    """A certification gained on `day` (the service records its "gained" tier event)."""
    return factories.certification(enterprise, tier, issued_on=day)


def test_board_counts_this_years_gains_and_rolls_sub_regions_up(world, db):
    _gain(world.ent_x, "high_tech", date(2026, 3, 1))
    _gain(world.ent_park, "high_tech", date(2026, 5, 1))
    _gain(world.ent_y, "high_tech", date(2025, 12, 31))  # last year: not counted
    _gain(world.ent_z, "high_tech", date(2026, 4, 1))  # another city
    db.session.add_all([Target(year=2026, region_id=world.county_x.id, metric="new_certs", tier="high_tech",
                               value=Decimal(4)),
                        Target(year=2026, region_id=world.county_y.id, metric="new_certs", tier="high_tech",
                               value=Decimal(2))])
    db.session.commit()
    board = queries.target_board(world.city, 2026, date(2026, 7, 1), M)  # 182/365 of the year
    city = board.cells[(world.city.id, "new_certs", "high_tech")]
    assert (city.target, city.own, city.actual) == (Decimal(6), False, Decimal(2))  # 4 + 2 rolled up
    x = board.cells[(world.county_x.id, "new_certs", "high_tech")]
    assert (x.target, x.actual, x.light) == (Decimal(4), Decimal(2), "green")  # 2 ≥ 4 × 182/365 = 1.99
    one_day_later = queries.target_board(world.city, 2026, date(2026, 7, 2), M)
    assert one_day_later.cells[(world.county_x.id, "new_certs", "high_tech")].light == "yellow"  # 2 < 2.005
    y = board.cells[(world.county_y.id, "new_certs", "high_tech")]
    assert (y.actual, y.light) == (Decimal(0), "red")
    # the city's own target, once set, replaces the sum
    db.session.add(Target(year=2026, region_id=world.city.id, metric="new_certs", tier="high_tech", value=Decimal(3)))
    db.session.commit()
    city = queries.target_board(world.city, 2026, date(2026, 7, 2), M).cells[(world.city.id, "new_certs", "high_tech")]
    assert (city.target, city.own) == (Decimal(3), True)


def test_rates_and_coverage_from_the_data(world, db):
    officer = factories.user("officer", region=world.county_x)
    factories.visit(world.ent_x, officer, visited_on=date(2026, 2, 1))
    factories.visit(world.ent_x, officer, visited_on=date(2026, 3, 1))
    factories.need(world.ent_x, raised_on=date(2026, 2, 1), status="resolved", resolution="ok",
                   closed_on=date(2026, 2, 5))
    factories.need(world.ent_park, raised_on=date(2026, 2, 1))
    db.session.commit()
    board = queries.target_board(world.county_x, 2026, date(2026, 7, 2), M)
    assert board.cells[(world.county_x.id, "visits", "")].actual == 2
    assert board.cells[(world.county_x.id, "resolution_rate", "")].actual == Decimal("50.0")
    assert board.cells[(world.county_x.id, "coverage", "")].actual == Decimal("50.0")  # ent_x of ent_x, ent_park


def test_a_county_manager_sees_only_their_county(client, login_as, world, db):
    login_as("manager", region=world.county_x)
    page = text(client.get("/pipeline/targets"))
    assert world.county_x.name in page and world.county_y.name not in page
    assert client.get(f"/pipeline/targets?region={world.county_y.id}").status_code == 404
    assert client.get(f"/pipeline?region={world.other_city.id}").status_code == 404


def test_setting_targets_is_audited_and_bad_values_change_nothing(client, login_as, world, db):
    from crm.core.audit import AuditEvent

    login_as("manager", region=world.city)
    url = f"/pipeline/targets/edit?region={world.county_x.id}&year=2026"
    assert client.get(url).status_code == 200
    bad = client.post(url, data={"coverage-": "120", "new_certs-high_tech": "5"})
    assert bad.status_code == 422 and db.session.scalars(select(Target)).all() == []
    bad = client.post(url, data={"visits-": "abc"})
    assert bad.status_code == 422
    ok = client.post(url, data={"new_certs-high_tech": "5", "coverage-": "60"})
    assert ok.status_code == 303
    assert {(t.metric, t.tier, t.value) for t in db.session.scalars(select(Target))} == {
        ("new_certs", "high_tech", Decimal(5)), ("coverage", "", Decimal(60))}
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "targets")).all()) == 2
    client.post(url, data={"new_certs-high_tech": "", "coverage-": "60"})  # cleared
    assert {t.metric for t in db.session.scalars(select(Target))} == {"coverage"}


def test_a_manager_cannot_set_another_regions_targets(world, db):
    from crm.core.validation import ValidationFailed

    manager = factories.user("manager", region=world.county_y)
    with pytest.raises(ValidationFailed):
        services.save_targets(world.county_x, 2026, {("visits", ""): Decimal(10)}, actor=manager)
    assert services.can_manage_targets(manager, world.county_y)
    assert not services.can_manage_targets(factories.user("officer", region=world.county_y), world.county_y)


def test_forecast_counts_the_pools_verdicts(world, db, monkeypatch):
    from crm.ladder import queries as ladder_queries

    pool = [type("C", (), {"verdict": v, "failing": f})() for v, f in
            [("ready", 0), ("ready", 0), ("incomplete", 0), ("not_ready", 1), ("not_ready", 3)]]
    monkeypatch.setattr(ladder_queries, "candidate_pool", lambda user, tier, region_id=None, gaps=True: pool)
    got = queries.forecast(factories.user("admin"), world.city, ["high_tech"])
    assert got["high_tech"]["ready"] == 2 and got["high_tech"]["close"] == 2


def test_the_forecast_matches_the_ladders_verdicts(world, db):
    from crm.ladder.queries import candidate_pool

    admin = factories.user("admin")
    factories.figures(world.ent_x, 2025)
    db.session.commit()
    pool = candidate_pool(admin, "tech_sme", region_id=world.city.id)
    counts = queries.forecast(admin, world.city, ["tech_sme"])["tech_sme"]
    assert counts["ready"] == sum(c.verdict == "ready" for c in pool)
    assert counts["close"] == sum(c.verdict == "incomplete" or (c.verdict == "not_ready" and c.failing == 1)
                                  for c in pool)
