"""Gap amounts: applying the shown gap makes the criterion pass; one unit less does not."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.ladder.engine import evaluate
from crm.ladder.profile import parse_profile, with_changes
from tests.ladder import RULES, crit, set_year, strong


@pytest.fixture(autouse=True)
def db():
    """The engine needs no app and no database: this replaces the suite's autouse database fixture."""
    yield None


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TENTH = Decimal("0.1")

# amounts with up to two decimals (the rounding to 0.1 has work to do), people as whole or half persons
amounts = st.integers(1, 5_000_000).map(lambda i: Decimal(i) / 100)
shares = st.integers(0, 1000).map(lambda i: Decimal(i) / 1000)


def figures(p, y=2024):
    return p.figures_for(y)


def check(tier, cid, profile, apply) -> bool:
    """When `cid` fails: its gap applied passes, one step less fails. Returns whether it failed."""
    c = crit(evaluate(profile, tier, RULES), cid)
    if c["status"] != "fail":
        assert c["status"] == "pass"
        return False
    gap = c["gap"]
    assert gap["amount"] is not None and gap["amount"] > 0, gap
    amount = Decimal(str(gap["amount"]))
    step = Decimal(1) if gap["unit"] in ("persons", "items") else TENTH
    assert amount % step == 0  # 0.1 万元 / whole persons
    assert crit(evaluate(apply(profile, amount), tier, RULES), cid)["status"] == "pass", (gap, amount)
    if amount > step:
        assert crit(evaluate(apply(profile, amount - step), tier, RULES), cid)["status"] == "fail", (gap, amount)
    return True


def base(**changes_by_year):
    data = strong()
    for y, values in changes_by_year.items():
        set_year(data, int(y[1:]), **{k: str(v) for k, v in values.items()})
    return parse_profile(data)


@SETTINGS
@given(revenues=st.tuples(amounts, amounts, amounts), shares=st.tuples(shares, shares, shares))
def test_ht_rd_ratio_gap(revenues, shares):
    rds = [r * s / 10 for r, s in zip(revenues, shares, strict=True)]  # 0 … 10 % of revenue
    p = base(**{f"y{y}": {"revenue": r, "rd_expense": rd} for y, r, rd in zip((2022, 2023, 2024), revenues, rds,
                                                                                 strict=True)})

    def apply(p, x):
        return with_changes(p, year=2024, rd_expense=figures(p).rd_expense + x)
    check("high_tech", "ht_rd_ratio", p, apply)


@SETTINGS
@given(employees=st.integers(1, 3000), share=shares, half=st.booleans())
def test_tech_staff_gap_in_whole_persons(employees, share, half):
    tech = (Decimal(employees) * share * Decimal("0.2")).to_integral_value()
    if half:
        tech += Decimal("0.5")  # monthly averages may be fractional
    if tech > employees:
        return
    p = base(y2024={"employees": employees, "tech_staff": tech})

    def apply(p, x):  # a new tech staff member is also a new employee
        f = figures(p)
        return with_changes(p, year=2024, tech_staff=f.tech_staff + x, employees=f.employees + x)
    for tier, cid in (("high_tech", "ht_tech_staff"), ("little_giant", "lg_tech_staff")):
        check(tier, cid, p, apply)


@SETTINGS
@given(rd=st.tuples(amounts, amounts, amounts), shares=st.tuples(shares, shares, shares))
def test_domestic_rd_gap(rd, shares):
    p = base(**{f"y{y}": {"rd_expense": r, "rd_expense_domestic": r * s}
                for y, r, s in zip((2022, 2023, 2024), rd, shares, strict=True)})

    def apply(p, x):  # domestic R&D added is R&D added
        f = figures(p)
        return with_changes(p, year=2024, rd_expense_domestic=f.rd_expense_domestic + x,
                            rd_expense=f.rd_expense + x)
    check("high_tech", "ht_rd_domestic", p, apply)


@SETTINGS
@given(income=amounts, share=shares, fallback=st.booleans())
def test_hightech_revenue_gap(income, share, fallback):
    hightech = income * share * Decimal("0.8")
    if fallback:
        p = base(y2024={"revenue": income, "hightech_revenue": hightech})
        p = with_changes(p, year=2024, total_income=None)
        denominator = "revenue"
    else:
        p = base(y2024={"total_income": income, "hightech_revenue": hightech})
        denominator = "total_income"

    def apply(p, x):  # high-tech revenue added is income added
        f = figures(p)
        return with_changes(p, year=2024, hightech_revenue=f.hightech_revenue + x,
                            **{denominator: getattr(f, denominator) + x})
    check("high_tech", "ht_hightech_revenue", p, apply)


@SETTINGS
@given(revenue=amounts, share=shares)
def test_regional_rd_ratio_gap(revenue, share):
    p = base(y2024={"revenue": revenue, "rd_expense": revenue * share / 20})

    def apply(p, x):
        return with_changes(p, year=2024, rd_expense=figures(p).rd_expense + x)
    for tier, cid in (("little_giant", "lg_rd_ratio"), ("gazelle", "gz_rd_ratio"), ("demonstration", "dm_rd_ratio")):
        check(tier, cid, p, apply)


@SETTINGS
@given(revenue=amounts)
def test_revenue_floor_gap(revenue):
    p = base(y2024={"revenue": revenue / 100})

    def apply(p, x):
        return with_changes(p, year=2024, revenue=figures(p).revenue + x)
    for tier, cid in (("little_giant", "lg_revenue"), ("gazelle", "gz_revenue"), ("demonstration", "dm_revenue")):
        check(tier, cid, p, apply)


@SETTINGS
@given(value=st.integers(1_900_000, 2_500_000).map(lambda i: Decimal(i) / 100), field=st.sampled_from(
    [("sme_revenue", "revenue"), ("sme_assets", "total_assets")]))
def test_upper_limit_gap(value, field):
    cid, name = field
    p = base(y2024={name: value})

    def apply(p, x):
        return with_changes(p, year=2024, **{name: getattr(figures(p), name) - x})
    check("tech_sme", cid, p, apply)


@SETTINGS
@given(employees=st.integers(400, 700))
def test_employee_limit_gap(employees):
    p = base(y2024={"employees": employees, "tech_staff": 200})

    def apply(p, x):
        return with_changes(p, year=2024, employees=figures(p).employees - x)
    failed = check("tech_sme", "sme_employees", p, apply)
    assert failed == (employees > 500)


@SETTINGS
@given(first=amounts, middle=amounts, latest=amounts)
def test_growth_gap_is_the_latest_revenue_that_reaches_the_rate(first, middle, latest):
    p = base(y2022={"revenue": first}, y2023={"revenue": middle}, y2024={"revenue": latest})

    def apply(p, x):
        return with_changes(p, year=2024, revenue=figures(p).revenue + x)
    for tier, cid in (("little_giant", "lg_growth"), ("gazelle", "gz_growth")):
        c = crit(evaluate(p, tier, RULES), cid)
        if c["status"] == "fail":
            target = Decimal(c["gap"]["text"].split("需达到 ")[1].split(" 万元")[0])
            assert target == latest + Decimal(str(c["gap"]["amount"]))
        check(tier, cid, p, apply)


@pytest.mark.parametrize("first, latest", [(7000, 9000), (6999.9, 9000), (8264.5, 9000), (5000, 7000),
                                           (9000, 9000), (20000, 10000)])
def test_growth_gap_across_the_gazelle_bands(first, latest):
    p = base(y2022={"revenue": first}, y2024={"revenue": latest})

    def apply(p, x):
        return with_changes(p, year=2024, revenue=figures(p).revenue + x)
    assert check("gazelle", "gz_growth", p, apply)


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4])
def test_ip_count_gap(count):
    data = strong()
    data["ip"] = [{"kind": "invention_patent", "count": count}]
    p = parse_profile(data)

    def apply(p, x):
        d = strong()
        d["ip"] = [{"kind": "invention_patent", "count": count + int(x)}]
        return parse_profile(d)
    assert check("demonstration", "dm_invention_patents", p, apply)
    c = crit(evaluate(p, "demonstration", RULES), "dm_invention_patents")
    assert c["gap"]["amount"] == 5 - count and c["gap"]["text"] == f"需再取得 {5 - count} 件Ⅰ类知识产权"


def test_age_gap_names_the_day_it_is_met():
    data = strong()
    data["established_on"] = "2022-09-15"
    c = crit(evaluate(parse_profile(data), "gazelle", RULES), "gz_age")
    assert c["status"] == "fail"
    data["assessment_date"] = c["gap"]["date"]
    assert crit(evaluate(parse_profile(data), "gazelle", RULES), "gz_age")["status"] == "pass"
    from datetime import date, timedelta

    data["assessment_date"] = (date.fromisoformat(c["gap"]["date"]) - timedelta(days=1)).isoformat()
    assert crit(evaluate(parse_profile(data), "gazelle", RULES), "gz_age")["status"] == "fail"


def test_shown_amounts_read_as_the_documents_show_them():
    data = strong()
    for y, rev, rd in ((2022, 3200, 180), (2023, 3900, 150), (2024, 4700, 158.62)):
        set_year(data, y, revenue=rev, rd_expense=rd, rd_expense_domestic=rd)
    c = crit(evaluate(parse_profile(data), "high_tech", RULES), "ht_rd_ratio")
    # 5 % of 11800 = 590; 590 − 488.62 = 101.38 → 101.4 (rounded up, never down)
    assert c["gap"]["amount"] == 101.4 and c["gap"]["text"] == "近三年研发费用合计需再增加 101.4 万元"
    assert c["actual"] == 0.0414  # 488.62 / 11800 = 0.041408…, shown rounded down
