"""The scheduler's roll-up of the year's visits and needs: it equals the live count in every region, pages read
it while it is fresh (and say when it was counted), and count live when it is stale, from another day or absent."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import delete, func, select

from crm.core import clock
from crm.core.db import utcnow
from crm.extensions import db as _db
from crm.notify import scheduler
from crm.pipeline import queries, services
from crm.pipeline.models import Rollup, Target
from tests import factories
from tests.helpers import count_queries

M = Decimal("0.10")


def _activity(world):
    """Visits and needs in three counties of two cities, this year and last."""
    today = clock.today()
    officer_x = factories.user("officer", region=world.county_x, serves=[world.ent_x, world.ent_park])
    officer_z = factories.user("officer", region=world.county_z, serves=[world.ent_z])
    for enterprise, officer, n in [(world.ent_x, officer_x, 3), (world.ent_park, officer_x, 1),
                                   (world.ent_z, officer_z, 5)]:
        for _ in range(n):
            factories.visit(enterprise, officer, visited_on=today)
    factories.visit(world.ent_y, officer_x, visited_on=today.replace(year=today.year - 1))  # last year
    factories.need(world.ent_x, owner=officer_x, raised_on=today, status="resolved", closed_on=today,
                   resolution="done")
    factories.need(world.ent_x, owner=officer_x, raised_on=today)
    factories.need(world.ent_z, owner=officer_z, raised_on=today)
    # certifications: gained this year in X and the park, held since last year in Y, one expired this year in Z
    factories.certification(world.ent_x, "high_tech", issued_on=today.replace(month=1, day=2))
    factories.certification(world.ent_park, "tech_sme", issued_on=today.replace(month=1, day=3))
    factories.certification(world.ent_y, "high_tech", issued_on=date(today.year - 1, 6, 1))
    old = factories.certification(world.ent_z, "tech_sme", issued_on=date(today.year - 1, 3, 1))
    old.expires_on = today.replace(month=1, day=1) - timedelta(days=1)
    _db.session.flush()
    from crm.ladder.services import expire_due_certifications

    expire_due_certifications(today, actor="test")
    for region, metric, tier in [(world.city, "visits", ""), (world.city, "coverage", ""),
                                 (world.city, "resolution_rate", ""), (world.other_city, "visits", ""),
                                 (world.city, "new_certs", "high_tech"), (world.county_y, "valid_count", "high_tech"),
                                 (world.other_city, "valid_count", "tech_sme")]:
        _db.session.add(Target(year=today.year, region_id=region.id, metric=metric, tier=tier,
                               value=Decimal(50)))
    _db.session.commit()
    return today


def _cells(board):
    return {key: (p.actual, p.target, p.light) for key, p in board.cells.items()}


def test_the_roll_up_equals_the_live_count_in_every_region(world, db):
    today = _activity(world)
    assert services.refresh_activity(today) == 4  # the four leaves with enterprises (operating counts them all)
    db.session.commit()
    rollup = db.session.scalar(select(Rollup))
    assert (rollup.kind, rollup.year, rollup.as_of) == ("activity", today.year, today)
    for region in [None, world.province, world.city, world.county_x, world.county_y, world.park_x, world.other_city]:
        rolled = queries.target_board(region, today.year, today, M)
        rolled_movement = queries.movement(region, today.year)
        assert rolled.activity_as_of is not None
        db.session.execute(delete(Rollup))
        live = queries.target_board(region, today.year, today, M)
        assert live.activity_as_of is None
        assert _cells(rolled) == _cells(live), region
        assert rolled_movement == queries.movement(region, today.year), region
        services.refresh_activity(today)
    x = queries.target_board(world.county_x, today.year, today, M).cells
    assert x[(world.county_x.id, "visits", "")].actual == 4  # county X and its park; not Z, not last year
    assert x[(world.county_x.id, "resolution_rate", "")].actual == Decimal("50.0")
    assert x[(world.county_x.id, "new_certs", "high_tech")].actual == 1
    z = queries.target_board(world.other_city, today.year, today, M).cells
    assert (z[(world.county_z.id, "valid_count", "tech_sme")].actual,
            z[(world.county_z.id, "valid_count", "tech_sme")].start) == (0, 1)  # held at the year's start only
    assert queries.movement(world.other_city, today.year)["tech_sme"]["lost"] == 1
    assert queries.movement(world.city, today.year)["tech_sme"] == {"gained": 1}


def test_running_twice_replaces_the_row(world, db):
    today = _activity(world)
    services.refresh_activity(today)
    factories.visit(world.ent_y, factories.user("officer", region=world.county_y), visited_on=today)
    services.refresh_activity(today)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Rollup)) == 1
    y = {region_id: n for region_id, _tier, n in db.session.scalar(select(Rollup)).data["visits"]}
    assert y[world.county_y.id] == 1


def test_the_dashboard_reads_a_fresh_roll_up_and_says_when_it_was_counted(client, login_as, world, db):
    today = _activity(world)
    login_as("manager", region=world.city)
    assert 'id="activity-as-of"' not in client.get("/pipeline").get_data(as_text=True)
    live_queries = count_queries(client, "/pipeline")
    services.refresh_activity(today)
    db.session.commit()
    assert 'id="activity-as-of"' in client.get("/pipeline").get_data(as_text=True)
    fresh_queries = count_queries(client, "/pipeline")
    # the roll-up's two reads (lights, movement) now find a row: no live count of the certifications (new, valid
    # now and at the year's start), of the visits, needs, visited and operating enterprises, and of the movement
    assert fresh_queries == live_queries - 8
    # a visit recorded after the count shows once the roll-up is stale (older than PIPELINE_ROLLUP_MAX_AGE)
    factories.visit(world.ent_x, factories.user("officer", region=world.county_x), visited_on=today)
    db.session.commit()
    board = queries.target_board(world.city, today.year, today, M)
    assert board.cells[(world.city.id, "visits", "")].actual == 4  # the roll-up's count, not 5
    rollup = db.session.scalar(select(Rollup))
    rollup.computed_at = utcnow() - timedelta(minutes=31)
    db.session.commit()
    board = queries.target_board(world.city, today.year, today, M)
    assert board.activity_as_of is None and board.cells[(world.city.id, "visits", "")].actual == 5
    assert 'id="activity-as-of"' not in client.get("/pipeline").get_data(as_text=True)
    assert count_queries(client, "/pipeline") == live_queries


def test_a_roll_up_of_another_day_is_not_read(world, db):
    today = _activity(world)
    services.refresh_activity(today - timedelta(days=1))  # yesterday's count (or last year's on 1 January)
    db.session.commit()
    assert queries.target_board(world.city, today.year, today, M).activity_as_of is None


def test_the_job_is_registered_and_runs(world, db):
    _activity(world)
    job = scheduler.job_by_id("pipeline.refresh_activity")
    run = scheduler.run_now(job)
    assert run.outcome == "ok", run.detail
    assert db.session.scalar(select(Rollup)).as_of == clock.today()


def test_the_forecast_roll_up_equals_ranking_the_pool_now_in_every_region(world, db):
    from crm.cycle.queries import filed_enterprises
    from crm.ladder.queries import candidate_pool
    from tests.cycle.helpers import application, batch

    today = clock.today()
    admin = factories.user("admin")
    for enterprise in (world.ent_x, world.ent_park, world.ent_y, world.ent_z):
        factories.figures(enterprise, today.year - 1)
    application(batch(world.city, "tech_sme", today.year), world.ent_x, "submitted")
    db.session.add(Target(year=today.year, region_id=world.city.id, metric="new_certs", tier="tech_sme",
                          value=Decimal(10)))
    db.session.commit()
    regions = [None, world.province, world.city, world.county_x, world.county_y, world.other_city]
    live = {}
    for region in regions:
        filed = filed_enterprises(region, today.year, ["tech_sme"])
        live[region] = queries.forecast(admin, region, ["tech_sme"], filed)
    assert live[world.city]["tech_sme"]["ready"] + live[world.city]["tech_sme"]["close"] >= 3
    assert services.refresh_forecast(today) == 1
    db.session.commit()
    for region in regions:
        filed = filed_enterprises(region, today.year, ["tech_sme"])
        with_rollup = count_of_queries(lambda r=region, f=filed: queries.forecast(admin, r, ["tech_sme"], f))
        assert with_rollup[0] == live[region], region
        assert with_rollup[1] <= 2  # the roll-up and the region tree, no ranking
    # a tier no roll-up holds is ranked now
    pool = candidate_pool(admin, "high_tech", region_id=world.city.id)
    assert queries.forecast(admin, world.city, ["high_tech"]) == {"high_tech": queries.count_forecast(pool, None)}


def count_of_queries(call):
    """(what `call` returns, how many SQL statements it ran)."""
    from sqlalchemy import event

    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    event.listen(_db.engine, "before_cursor_execute", count)
    try:
        return call(), counter["n"]
    finally:
        event.remove(_db.engine, "before_cursor_execute", count)


def test_a_large_needs_board_reads_the_roll_up_and_says_when(app, client, login_as, world, db, monkeypatch):
    from tests.helpers import text

    today = _activity(world)
    manager = factories.user("manager", region=world.city)
    admin = factories.user("admin")
    services.refresh_activity(today)
    db.session.commit()
    late = factories.need(world.ent_y, raised_on=today, title="卷后新增诉求", category="finance")  # after the count
    db.session.commit()

    def board_cells(body):
        board = body.split('id="needs-board"')[1].split("</table>")[0]
        return board.count('class="num"><a '), ">卷后新增诉求<" in body, 'id="needs-board-as-of"' in body

    # below NEEDS_BOARD_LIVE_MAX: counted now, exactly (the late need too), no time shown
    login_as(manager)
    assert queries.rollup(today.year, today)[0] is not None
    live_board = client.get("/needs?status=").get_data(as_text=True)
    assert board_cells(live_board) == (3, True, False)  # ent_x resolved, ent_x open, ent_y open
    # above it: the roll-up's counts of the manager's city (not the other city's need), and the time; the list live
    monkeypatch.setitem(app.config, "NEEDS_BOARD_LIVE_MAX", 1)
    body = client.get("/needs?status=").get_data(as_text=True)
    assert board_cells(body) == (2, True, True)
    assert "卷后新增诉求" in text(client.get("/needs?status="))
    # admin: the province, both cities
    login_as(admin)
    board = client.get("/needs?status=open").get_data(as_text=True).split('id="needs-board"')[1].split("</table>")[0]
    # x resolved; x and z open (one cell, the same category); the late finance need not yet
    assert board.count('class="num"><a ') == 2 and ">2</a>" in board
    # a search, an owner or an age is counted live
    login_as(manager)
    assert board_cells(client.get("/needs?status=&q=诉求").get_data(as_text=True))[2] is False
    # the next roll-up counts it
    services.refresh_activity(today)
    db.session.commit()
    board = client.get("/needs?status=").get_data(as_text=True).split('id="needs-board"')[1].split("</table>")[0]
    assert board.count('class="num"><a ') == 3
    # stale: counted live again
    db.session.execute(Rollup.__table__.update().values(computed_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    assert board_cells(client.get("/needs?status=").get_data(as_text=True))[2] is False
    assert late.id


def test_the_dashboard_counts_held_tiers_at_risk_from_the_hourly_roll_up(client, login_as, world, db):
    from crm.pipeline import jobs
    from tests.cycle.test_at_risk import _high_tech
    from tests.helpers import text, zh

    _high_tech(world.ent_x, employees=1000, tech_staff=99)  # 9.9 %: at risk
    _high_tech(world.ent_y, employees=1000, tech_staff=100)  # 10 %: not
    _high_tech(world.ent_z, employees=1000, tech_staff=50)  # at risk, in the other city
    manager = factories.user("manager", region=world.city)
    db.session.commit()
    login_as(manager)
    card = text(client.get("/pipeline")).split('id="at-risk-card"')[1].split("</div>\n")[0]
    assert zh("See the list") in card  # not counted yet today
    assert jobs.refresh_at_risk(clock.today()) == zh("%(n)s held tiers at risk", n=2)
    db.session.commit()
    card = text(client.get("/pipeline")).split('id="at-risk-card"')[1].split("</div>\n")[0]
    assert ">1</a>" in card and "/cycle/at-risk?region=" in card  # the city's one, not the other city's
    login_as("admin")
    card = text(client.get("/pipeline")).split('id="at-risk-card"')[1].split("</div>\n")[0]
    assert ">2</a>" in card
    db.session.execute(Rollup.__table__.update().where(Rollup.kind == "at_risk")
                       .values(computed_at=utcnow() - timedelta(hours=3)))
    db.session.commit()
    assert zh("See the list") in text(client.get("/pipeline")).split('id="at-risk-card"')[1]


def test_the_workbench_reads_the_officers_at_risk_count_from_the_roll_up(client, login_as, world, db):
    from crm.pipeline import jobs
    from tests.cycle.test_at_risk import _high_tech
    from tests.helpers import text

    officer = factories.user("officer", region=world.county_x, serves=[world.ent_x, world.ent_park])
    _high_tech(world.ent_x, employees=1000, tech_staff=99)  # at risk
    db.session.commit()
    login_as(officer)

    def badge():
        return text(client.get("/workbench")).split('id="wb-at-risk"')[1].split("</a>")[0]

    assert '<span class="badge text-bg-danger">1</span>' in badge()  # counted now: no roll-up yet
    jobs.refresh_at_risk(clock.today())
    db.session.commit()
    _high_tech(world.ent_park, employees=1000, tech_staff=99)  # at risk too, after the count
    db.session.commit()
    assert '<span class="badge text-bg-danger">1</span>' in badge()  # the hourly count
    db.session.execute(Rollup.__table__.update().where(Rollup.kind == "at_risk")
                       .values(computed_at=utcnow() - timedelta(hours=3)))
    db.session.commit()
    assert '<span class="badge text-bg-danger">2</span>' in badge()  # stale: counted now
