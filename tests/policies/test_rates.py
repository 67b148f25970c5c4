"""The three rates (知晓率 informed ÷ eligible, 申报率 applied ÷ informed, 享受率 granted ÷ applied) with the amount
granted, per policy, sub-region and officer, on a hand-built data set; drill-down, Excel, scoping, query count."""
from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook

from crm.core import clock
from crm.policies import queries, services
from tests import factories
from tests.helpers import count_queries, text

STEPS = {"informed": ["informed"], "applied": ["informed", "applied"],
         "granted": ["informed", "applied", "granted"], "not_granted": ["informed", "applied", "not_granted"]}


def _push(policy, enterprise, state, amount=None):
    for step in STEPS[state]:
        services.set_push(policy, enterprise, step, actor="test", amount=amount if step == "granted" else None)


def _figures(enterprise, tech_staff):
    factories.figures(enterprise, clock.today().year - 1, employees=100, tech_staff=tech_staff)


@pytest.fixture
def data(world, db):
    """Policy A (no condition: every operating enterprise) and B (tech staff ≥ 10%), pushes in every state.

    city C: county X holds ent_x, e1 and the park (ent_park); county Y holds ent_y and e2; ent_z is another city's.
    A: x granted 30, park applied, e1 not granted, y informed, e2 not told → 5 eligible, 4 informed, 3 applied, 1 granted
    B: x (10%) and y (20%) eligible, park (9%) not, e1 and e2 without figures only might → y granted 12.5, x not told
    officer1 serves x and the park; officer2 serves y; e1 and e2 have no officer.
    """
    e1 = factories.enterprise(world.county_x, name="兴庆一号科技有限公司")
    e2 = factories.enterprise(world.county_y, name="西夏二号科技有限公司")
    _figures(world.ent_x, 10)
    _figures(world.ent_y, 20)
    _figures(world.ent_park, 9)
    a = factories.policy("政策甲")
    b = factories.policy("政策乙", conditions={"min_tech_staff_ratio": "10"})
    officer1 = factories.user("officer", region=world.county_x, name="官一", serves=[world.ent_x, world.ent_park])
    officer2 = factories.user("officer", region=world.county_y, name="官二", serves=[world.ent_y])
    db.session.commit()
    _push(a, world.ent_x, "granted", Decimal("30"))
    _push(a, world.ent_park, "applied")
    _push(a, e1, "not_granted")
    _push(a, world.ent_y, "informed")
    _push(a, world.ent_z, "granted", Decimal("99"))  # another city's: never in the city's figures
    _push(b, world.ent_y, "granted", Decimal("12.5"))
    db.session.commit()
    return {"a": a, "b": b, "e1": e1, "e2": e2, "officer1": officer1, "officer2": officer2,
            "manager": factories.user("manager", region=world.city),
            "county_manager": factories.user("manager", region=world.county_y)}


def _row(report, key):
    t = next(r.tally for r in report.rows if r.key == str(key))
    return (t.eligible, t.informed, t.applied, t.granted, t.amount)


def test_rates_by_policy(data, db):
    report = queries.rate_report(data["manager"], "policy")
    assert _row(report, data["a"].id) == (5, 4, 3, 1, Decimal("30"))
    assert _row(report, data["b"].id) == (2, 1, 1, 1, Decimal("12.5"))
    t = report.total
    assert (t.eligible, t.informed, t.applied, t.granted, t.amount) == (7, 5, 4, 2, Decimal("42.5"))
    a = next(r.tally for r in report.rows if r.key == str(data["a"].id))
    assert (a.awareness, a.application, a.benefit) == (Decimal("80.0"), Decimal("75.0"), Decimal("33.3"))
    assert (t.awareness, t.application, t.benefit) == (Decimal("71.4"), Decimal("80.0"), Decimal("50.0"))


def test_rates_by_sub_region_and_by_officer(world, data, db):
    by_region = queries.rate_report(data["manager"], "region")
    assert {r.label for r in by_region.rows} == {"兴庆区", "西夏区"}  # the park counts in county X
    assert _row(by_region, world.county_x.id) == (4, 3, 3, 1, Decimal("30"))
    assert _row(by_region, world.county_y.id) == (3, 2, 1, 1, Decimal("12.5"))
    by_officer = queries.rate_report(data["manager"], "officer")
    assert _row(by_officer, data["officer1"].id) == (3, 2, 2, 1, Decimal("30"))
    assert _row(by_officer, data["officer2"].id) == (2, 2, 1, 1, Decimal("12.5"))
    assert _row(by_officer, "none") == (2, 1, 1, 0, None)


def test_a_county_manager_sees_their_county_only(world, data, db):
    report = queries.rate_report(data["county_manager"], "policy")
    assert _row(report, data["a"].id) == (2, 1, 0, 0, None)
    assert _row(report, data["b"].id) == (1, 1, 1, 1, Decimal("12.5"))
    assert {p.enterprise.region_id for p in report.pairs} == {world.county_y.id}
    by_region = queries.rate_report(data["county_manager"], "region")
    assert [r.label for r in by_region.rows] == ["西夏区"]


def test_an_admin_counts_the_other_city_too(world, data, db):
    report = queries.rate_report(factories.user("admin"), "region")
    assert {r.label for r in report.rows} == {"宁夏回族自治区"}
    assert report.total.amount == Decimal("141.5")


def test_the_page_links_each_number_to_its_enterprises(client, login_as, world, data, db):
    login_as(data["manager"])
    page = client.get(f"/policies/rates?policy={data['a'].id}&by=region")
    body = text(page)
    assert page.status_code == 200 and "兴庆区" in body, body
    assert "80%" in body.split("<tfoot>")[1]
    drill = text(client.get(f"/policies/rates/enterprises?policy={data['a'].id}&measure=not_informed"))
    assert "西夏二号科技有限公司" in drill and "兴庆智能装备有限公司" not in drill
    assert f'/policies/rates/enterprises?measure=not_informed&amp;policy={data["a"].id}&amp;region=' \
           f'{world.county_y.id}' in page.get_data(as_text=True)
    drill = text(client.get(f"/policies/rates/enterprises?region={world.county_x.id}&measure=applied"))
    assert all(n in drill for n in ("兴庆智能装备有限公司", "园区新材料有限公司", "兴庆一号科技有限公司"))
    assert "西夏" not in drill.split('id="drill"')[1]
    drill = text(client.get("/policies/rates/enterprises?officer=none&measure=informed"))
    assert "兴庆一号科技有限公司" in drill and "西夏二号科技有限公司" not in drill
    assert "大武口光伏科技有限公司" not in text(client.get("/policies/rates/enterprises"))


def test_the_excel_export(client, login_as, data, db):
    login_as(data["manager"])
    response = client.get("/policies/rates.xlsx?by=officer")
    assert response.status_code == 200
    wb = load_workbook(BytesIO(response.data))
    rates, pairs = wb.worksheets
    rows = list(rates.iter_rows(values_only=True))
    assert rows[-1][1:] == (7, 5, 71.4, 4, 80.0, 2, 50.0, 42.5)
    labels = [r[0] for r in rows[1:-1]]
    assert len(labels) == 3 and {"官一", "官二"} <= set(labels) and rows[-1][0] != labels[-1]
    assert len(list(pairs.iter_rows(values_only=True))) == 1 + 7


def test_the_rates_take_a_constant_number_of_queries(client, login_as, world, data, db):
    login_as(data["manager"])
    before = count_queries(client, "/policies/rates?by=officer")
    for n in range(12):
        e = factories.enterprise(world.county_x if n % 2 else world.county_y)
        factories.figures(e, clock.today().year - 1, employees=100, tech_staff=30)
        factories.user("officer", region=world.county_x, serves=[e]) if n % 3 == 0 else None
        _push(data["a"], e, "informed")
    db.session.commit()
    assert count_queries(client, "/policies/rates?by=officer") == before
    assert count_queries(client, "/policies/rates?by=region") == before
