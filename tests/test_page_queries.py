"""Issue #14's pages run a constant number of SQL statements: the same count with a few enterprises and with
three times as many (each with figures, IP, certifications, a visit, needs, follow-ups and an officer), so none
of them loads a row per enterprise, visit or need (N+1). The figures are in `make bench`; this proves the shape."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from crm.core import clock
from crm.extensions import db
from crm.ladder.services import refresh_ranks
from crm.pipeline.services import refresh_activity, refresh_forecast
from crm.policies.services import refresh_matches
from tests import factories
from tests.helpers import count_queries


def _add(world, officer, n: int, start: int) -> None:
    """`n` enterprises in county X served by `officer`, each with two years of figures, a patent, a tech SME
    certificate, a visit, two needs (one open, one resolved) and a follow-up."""
    today = clock.today()
    for i in range(start, start + n):
        e = factories.enterprise(world.county_x if i % 2 else world.park_x, name=f"查询计数{i:03d}科技有限公司")
        for year in (today.year - 2, today.year - 1):
            factories.figures(e, year, revenue=Decimal(3000 + i), rd_expense=Decimal(100 + i),
                              rd_expense_domestic=Decimal(100 + i), employees=80, tech_staff=20, rd_staff=10)
        factories.ip(e, "invention_patent")
        factories.certification(e, "tech_sme", issued_on=today.replace(month=1, day=1))
        factories.assignment(e, officer)
        visit = factories.visit(e, officer, visited_on=today - timedelta(days=i % 30))
        factories.need(e, owner=officer, visit=visit, category="finance", due_on=today + timedelta(days=5))
        factories.need(e, owner=officer, category="talent", status="resolved", resolution="已解决",
                       closed_on=today)
        factories.follow_up(e, officer, due_on=today + timedelta(days=i % 3))
    refresh_matches()
    refresh_ranks()
    refresh_activity(today)
    refresh_forecast(today)
    db.session.commit()


@pytest.fixture
def people(world, db):
    officer = factories.user("officer", region=world.county_x, name="计数专员")
    manager = factories.user("manager", region=world.city, name="计数科长")
    admin = factories.user("admin")
    owner = factories.user("enterprise", enterprise=world.ent_x)
    factories.certification(world.ent_x, "high_tech", issued_on=clock.today() - timedelta(days=400))
    factories.policy("研发费用后补助", conditions={"min_tech_staff_ratio": "10"},
                     opens_on=clock.today() - timedelta(days=5), closes_on=clock.today() + timedelta(days=40))
    db.session.commit()
    return {"officer": officer, "manager": manager, "admin": admin, "enterprise": owner}


PAGES = [
    ("manager", "/enterprises?q=科技&region={county_x}&tier=tech_sme"),
    ("manager", "/enterprises/{ent_x}"),
    ("officer", "/workbench"),
    ("officer", "/workbench/policies"),
    ("manager", "/needs?status="),
    ("admin", "/needs?status=open"),
    ("manager", "/pipeline"),
    ("admin", "/pipeline"),
    ("manager", "/candidates?tier=high_tech"),
    ("admin", "/candidates?tier=little_giant"),
    ("enterprise", "/portal"),
    ("manager", "/cycle/at-risk"),
    ("officer", "/cycle/at-risk"),
]


def test_each_page_runs_the_same_queries_at_three_times_the_size(client, login_as, world, people, db):
    def urls():
        return [(role, path.format(county_x=world.county_x.id, ent_x=world.ent_x.id)) for role, path in PAGES]

    _add(world, people["officer"], 4, 0)
    few = {}
    for role, url in urls():
        login_as(people[role])
        few[(role, url)] = count_queries(client, url)
    _add(world, people["officer"], 12, 4)
    many = {}
    for role, url in urls():
        login_as(people[role])
        many[(role, url)] = count_queries(client, url)
    assert many == few
    # and each stays small in absolute terms: a page is a handful of reads, not dozens
    assert max(few.values()) <= 60, few
