"""Survey results: shares, numbers, groups, year-on-year against last year's campaign, the needs raised."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook

from crm.core import clock
from crm.extensions import db
from crm.surveys import queries, services
from tests import factories
from tests.surveys.conftest import launch, option


def _answer(campaign, enterprise, **answers):
    from crm.auth.models import User

    admin = db.session.query(User).filter_by(username="survey_admin").first() or factories.user(
        "admin", username="survey_admin")
    # last year's campaign is closed today: its answers are written as they were, while it was open
    opens, closes = campaign.opens_on, campaign.closes_on
    campaign.opens_on, campaign.closes_on = clock.today(), clock.today()
    services.save_response(campaign, enterprise, answers, actor=admin)
    campaign.opens_on, campaign.closes_on = opens, closes


def test_shares_numbers_groups_and_year_on_year(world, bank):
    barrier, wants, spend, advice = bank
    this_year = clock.today().year
    extra = factories.enterprise(world.county_y, name="西夏第二企业")
    last = launch(bank, world.city, title="去年摸排", opens_on=date(this_year - 1, 3, 1),
                  closes_on=date(this_year - 1, 4, 30))
    fin, hire, none_ = (option(barrier, x).id for x in ("融资难", "招工难", "没有障碍"))
    # last year: 1 of 4 named financing (25%), mean spend 100
    for ent, choice, amount in [(world.ent_x, fin, "100"), (world.ent_park, hire, "100"),
                                (world.ent_y, none_, "100"), (extra, hire, "")]:
        _answer(last, ent, **{f"q{barrier.id}": [choice], f"q{spend.id}": amount})
    # the question's wording changes between the years: a new version, the same question
    services.save_question({"kind": "single", "text": "当前最主要障碍"},
                           [{"label": "融资难", "need_category": "finance"}, {"label": "招工难"},
                            {"label": "没有障碍"}], actor="test", question=barrier)
    db.session.flush()
    now = launch(bank, world.city, title="今年摸排")
    assert now.questions[0].question_version.version == 2
    fin2, hire2 = option(barrier, "融资难").id, option(barrier, "招工难").id
    world.ent_y.industry_code = "I6510"
    _answer(now, world.ent_x, **{f"q{barrier.id}": [fin2], f"q{wants.id}": [option(wants, "资金").id,
                                                                          option(wants, "人才").id],
                                 f"q{spend.id}": "10"})
    _answer(now, world.ent_park, **{f"q{barrier.id}": [fin2], f"q{wants.id}": [option(wants, "资金").id],
                                    f"q{spend.id}": "20"})
    _answer(now, world.ent_y, **{f"q{barrier.id}": [hire2], f"q{spend.id}": "60", f"q{advice.id}": "多办培训"})
    db.session.commit()
    admin = factories.user("admin")
    results = {r.campaign_question.question_id: r for r in queries.results(admin, now)}
    top = results[barrier.id]
    assert top.answered == 3 and top.last_campaign.id == last.id and top.last_answered == 4
    rows = {o.label: o for o in top.options}
    assert (rows["融资难"].count, round(rows["融资难"].share, 4)) == (2, round(2 / 3, 4))
    assert (rows["融资难"].last_count, rows["融资难"].last_share) == (1, 0.25)
    assert round(rows["融资难"].change_points, 2) == round((2 / 3 - 0.25) * 100, 2)
    assert (rows["招工难"].count, rows["招工难"].last_count, rows["没有障碍"].count) == (1, 2, 0)
    multi = {o.label: o for o in results[wants.id].options}
    assert results[wants.id].answered == 2 and multi["资金"].share == 1.0 and multi["人才"].share == 0.5
    assert multi["技术"].count == 0
    numbers = results[spend.id]
    assert (numbers.numbers.count, numbers.numbers.total, numbers.numbers.mean, numbers.numbers.median) == (
        3, Decimal("90.00"), Decimal("30.00"), Decimal("20.00"))
    assert numbers.last.count == 3 and numbers.last.mean == Decimal("100.00")
    assert numbers.mean_change == Decimal("-70.00")
    assert results[advice.id].answered == 1 and results[advice.id].last_answered == 0
    # by region (the enterprise's own region) and by industry (GB/T 4754 section letter)
    groups = {g: (n, counts) for g, n, counts in top.groups}
    assert groups["兴庆区"] == (1, {"融资难": 1}) and groups["西夏区"] == (1, {"招工难": 1})
    assert groups["银川经济技术开发区"][0] == 1
    by_industry = {g: (n, dict(c)) for g, n, c in queries.results(admin, now, "industry")[0].groups}
    assert by_industry == {"C": (2, {"融资难": 2}), "I": (1, {"招工难": 1})}
    # a campaign of another region is no comparison
    assert queries.last_year_campaign(launch(bank, world.county_x, title="县里"), barrier.id) is None


def test_raised_needs_closed_in_time_departments_and_satisfaction(world, bank):
    barrier = bank[0]
    extra = factories.enterprise(world.county_y)
    campaign = launch(bank, world.city)
    fin = option(barrier, "融资难").id
    for ent in (world.ent_x, world.ent_park, world.ent_y):
        _answer(campaign, ent, **{f"q{barrier.id}": [fin]})
    _answer(campaign, extra, **{f"q{barrier.id}": [option(barrier, "招工难").id]})
    db.session.commit()
    admin = factories.user("admin")
    found = queries.raised_needs(admin, campaign, barrier.id)
    assert found.enterprises == 3 and len(found.rows) == 3
    a, b, c = (r.need for r in found.rows)
    today = clock.today()
    department = factories.department("税务局")
    # a: resolved in time, rated 5, its referral answered in time; b: resolved late, rated 3; c: still open
    a.status, a.closed_on, a.satisfaction = "resolved", a.due_on, 5
    factories.referral(a, department_id=department.id, due_on=today + timedelta(days=3),
                       answered_at=datetime.now(UTC), status="answered")
    b.status, b.closed_on, b.satisfaction = "resolved", b.due_on + timedelta(days=1), 3
    factories.referral(b, department_id=department.id, due_on=today - timedelta(days=3), status="pending")
    db.session.commit()
    found = queries.raised_needs(admin, campaign, barrier.id)
    assert (found.closed, found.closed_in_time, found.referred, found.departments_in_time, found.rated) == (
        2, 1, 2, 1, 2)
    assert found.mean_satisfaction == Decimal("4.00")
    assert len(queries.raised_needs(admin, campaign, barrier.id, option_id=fin).rows) == 3
    assert c.status == "open"


def test_results_pages_and_export(client, login_as, world, bank):
    barrier, wants, spend, advice = bank
    campaign = launch(bank, world.city)
    _answer(campaign, world.ent_x, **{f"q{barrier.id}": [option(barrier, "融资难").id], f"q{spend.id}": "12.5"})
    db.session.commit()
    login_as("manager", region=world.city)
    page = client.get(f"/surveys/{campaign.id}/results?by=industry", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "融资难" in page.text
    needs = client.get(f"/surveys/{campaign.id}/questions/{barrier.id}/needs?option={option(barrier, '融资难').id}")
    assert needs.status_code == 200 and "融资需求" in needs.text and world.ent_x.name in needs.text
    assert client.get(f"/surveys/{campaign.id}/questions/{spend.id + 999}/needs").status_code == 404
    export = client.get(f"/surveys/{campaign.id}/results.xlsx")
    assert export.status_code == 200
    wb = load_workbook(BytesIO(export.data))
    assert len(wb.sheetnames) == 3
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert ("最主要障碍", "融资难", 1, 1, 100.0, None, None, None) in rows
    assert any(r[0] == "研发投入" and r[2] == 12.5 and r[3] == 1 for r in rows)
