"""The at-risk list read a page at a time from the stored ranks (issue #14): the same certifications, in the
same order, as evaluating every one; counted in SQL; the live list when the ranks are missing."""
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.core import clock
from crm.cycle import queries, services
from crm.ladder.models import CandidateRank
from crm.ladder.services import refresh_ranks
from tests import factories
from tests.cycle.test_at_risk import _high_tech
from tests.helpers import count_queries


def _keys(items):
    return [(i.enterprise.id, i.tier, i.certificate_no, tuple(i.failing), tuple(i.drops), tuple(i.flags),
             i.recert_due, i.recert_follow_up_on) for i in items]


@pytest.fixture
def risky_world(world, db):
    """Held tiers with each kind of warning and some without any, ranked as the services and jobs keep them."""
    today = clock.today()
    ents = [world.ent_x, world.ent_y] + [factories.enterprise(world.county_x) for _ in range(6)]
    _high_tech(ents[0], employees=1000, tech_staff=100)  # meets every criterion: not listed
    _high_tech(ents[1], employees=1000, tech_staff=99)  # the tech staff share fails
    _high_tech(ents[2], employees=1000, tech_staff=150)
    services_flag = ents[2]
    _high_tech(ents[3], employees=1000, tech_staff=150)
    for f in ents[3].figures:  # revenue fell by exactly 10 %: a drop
        if f.year == today.year - 2:
            f.revenue = Decimal("3000.00")
        elif f.year == today.year - 1:
            f.revenue = Decimal("2700.00")
    _high_tech(ents[4], employees=1000, tech_staff=150)
    for f in ents[4].figures:  # fell by 9.99 %: not a drop
        if f.year == today.year - 2:
            f.revenue = Decimal("3000.00")
        elif f.year == today.year - 1:
            f.revenue = Decimal("2700.30")
    # a 高企 within 180 days of expiry and no application: due for re-certification
    _high_tech(ents[5], employees=1000, tech_staff=150, issued_on=today - timedelta(days=3 * 365 - 100))
    factories.certification(ents[6], "tech_sme", issued_on=today.replace(month=1, day=1))  # fails its criteria
    admin = factories.user("admin")
    db.session.flush()
    services.set_flag(services_flag, "relocation", True, actor=admin, note="")
    db.session.flush()
    refresh_ranks()
    db.session.commit()
    return admin


def test_the_page_lists_what_evaluating_every_one_lists_in_the_same_order(risky_world, world, db, app):
    admin = risky_world
    with app.test_request_context("/cycle/at-risk"):
        page = queries.at_risk_page(admin, lang="en")
    live = queries.at_risk(admin, lang="en")
    assert page.total == len(live) == queries.at_risk_count(admin) == 4
    assert _keys(page.items) == _keys(live)
    # one of each warning; neither the 高企 meeting every criterion nor the 9.99 % fall is listed
    assert [(bool(i.failing), bool(i.drops), bool(i.flags), i.recert_due) for i in live] == [
        (False, False, False, True), (False, False, True, False), (False, True, False, False),
        (True, False, False, False)]
    assert world.ent_x.id not in {i.enterprise.id for i in live}


def test_a_page_reads_the_same_number_of_queries_whatever_the_size(risky_world, world, db, client, login_as):
    login_as(risky_world)
    few = count_queries(client, "/cycle/at-risk")
    for _ in range(12):
        e = factories.enterprise(world.county_y)
        factories.certification(e, "tech_sme", issued_on=clock.today().replace(month=1, day=1))
    db.session.flush()
    refresh_ranks()
    db.session.commit()
    assert count_queries(client, "/cycle/at-risk") == few


def test_without_ranks_the_page_ranks_a_few_or_evaluates_live(risky_world, db, app, monkeypatch):
    admin = risky_world
    live = _keys(queries.at_risk(admin, lang="en"))
    db.session.execute(sa.delete(CandidateRank))
    db.session.commit()
    with app.test_request_context("/cycle/at-risk"):
        assert _keys(queries.at_risk_page(admin, lang="en").items) == live  # ranked in the request
    db.session.rollback()
    monkeypatch.setattr("crm.ladder.queries._CHUNK", 2)  # more missing than a request ranks: evaluated live
    with app.test_request_context("/cycle/at-risk"):
        assert queries.at_risk_listed(admin) is None
        assert _keys(queries.at_risk_page(admin, lang="en").items) == live


def test_the_hourly_count_is_the_live_list_counted_by_region_tier_and_officer(risky_world, world, db):
    from collections import Counter

    from crm.core.policy import SYSTEM
    from crm.pipeline.models import Rollup
    from crm.pipeline.services import refresh_at_risk

    officer = factories.user("officer", region=world.county_x)
    live = queries.at_risk(SYSTEM)
    for item in live[:2]:
        factories.assignment(item.enterprise, officer)
    db.session.execute(sa.delete(CandidateRank).where(CandidateRank.enterprise_id == live[0].enterprise.id))
    db.session.flush()
    assert refresh_at_risk(clock.today()) == len(live) == 4  # the missing ranks computed first
    data = db.session.scalar(sa.select(Rollup).where(Rollup.kind == "at_risk")).data
    assert Counter({(r, t): n for r, t, n in data["at_risk"]}) == Counter(
        (i.enterprise.region_id, i.tier) for i in live)
    assert data["by_officer"] == [[officer.id, 2]]


def test_pages_follow_the_order_and_a_page_past_the_end_is_the_last(risky_world, db, app, monkeypatch):
    admin = risky_world
    live = _keys(queries.at_risk(admin, lang="en"))
    monkeypatch.setitem(app.config, "PER_PAGE", 3)
    for asked, (number, rows) in (("1", (1, live[:3])), ("2", (2, live[3:])), ("99", (2, live[3:]))):
        with app.test_request_context(f"/cycle/at-risk?page={asked}"):
            page = queries.at_risk_page(admin, lang="en")
        assert (page.page, page.pages, page.total, _keys(page.items)) == (number, 2, 4, rows)
