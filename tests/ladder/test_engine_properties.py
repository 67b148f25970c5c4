"""Property tests: the verdict never gets better when a figure gets worse (ready > incomplete > not_ready)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.ladder.engine import evaluate, evaluate_all
from crm.ladder.profile import CLASS_I_KINDS, IP_KINDS, Profile, parse_profile, profile_to_dict, with_changes
from tests.ladder import RULES, TIERS, VERDICT_ORDER


@pytest.fixture(autouse=True)
def db():
    """The engine needs no app and no database: this replaces the suite's autouse database fixture."""
    yield None


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def maybe(strategy, p_none=0.08):
    return st.one_of(strategy, st.none()) if p_none else strategy


money = st.integers(0, 3_000_000).map(lambda i: Decimal(i) / 100)  # 0 … 30000 万元
positive_money = st.integers(1, 3_000_000).map(lambda i: Decimal(i) / 100)


@st.composite
def year_figures(draw, year: int, positive_revenue: bool):
    revenue = draw(positive_money if positive_revenue else money)
    rd = revenue * draw(st.integers(0, 80)) / 1000  # 0 … 8 %
    employees = draw(st.integers(1, 800))
    row = {
        "year": year,
        "revenue": revenue,
        "hightech_revenue": revenue * draw(st.integers(0, 100)) / 100,
        "rd_expense": rd,
        "rd_expense_domestic": rd * draw(st.integers(30, 100)) / 100,
        "total_cost": revenue * draw(st.integers(50, 120)) / 100,
        "total_income": draw(st.one_of(st.none(), st.just(revenue + draw(st.integers(0, 500))))),
        "total_assets": draw(money),
        "net_assets": draw(st.integers(-50_000, 2_000_000).map(lambda i: Decimal(i) / 100)),
        "employees": employees,
        "tech_staff": draw(st.integers(0, employees)),
        "rd_staff": None,
    }
    for key in ("revenue", "rd_expense", "employees", "tech_staff", "hightech_revenue", "net_assets"):
        if draw(st.integers(0, 40)) == 0:
            row[key] = None  # now and then a missing figure
    return row


@st.composite
def profiles(draw, positive_revenue: bool = False):
    established = date(2014, 1, 1) + timedelta(days=draw(st.integers(0, 3800)))
    years = [y for y in (2022, 2023, 2024) if y >= established.year and draw(st.integers(0, 25)) > 0]
    ip = []
    for kind in draw(st.lists(st.sampled_from(IP_KINDS), max_size=4, unique=True)):
        count = draw(st.integers(0, 7))
        ip.append({"kind": kind, "count": count, "used_in_earlier_application": draw(st.integers(0, count))})
    tiers = draw(st.lists(st.sampled_from(TIERS), max_size=2, unique=True))
    return {
        "established_on": established.isoformat(),
        "assessment_date": "2025-06-30",
        "tech_domain": draw(maybe(st.just("new_materials"))),
        "figures": [draw(year_figures(y, positive_revenue)) for y in years],
        "ip": draw(maybe(st.just(ip))),
        "conversions_last_3_years": draw(maybe(st.integers(0, 20))),
        "flags": {name: draw(st.sampled_from([True, True, True, False, None])) for name in
                  ("resident", "clean_record", "provincial_rd_institution")}
        | {"restricted_industry": draw(st.sampled_from([False, False, True, None])),
           "national_award_top3_5y": draw(st.sampled_from([False, False, True, None])),
           "led_standard_5y": draw(st.sampled_from([False, False, None]))},
        "judgement": draw(st.one_of(st.none(), st.fixed_dictionaries({}, optional={
            "ip_advancement": st.integers(0, 16).map(lambda i: Decimal(i) / 2),
            "ip_core_support": st.integers(0, 8), "ip_acquisition": st.integers(0, 6),
            "ip_standards_bonus": st.integers(0, 2), "management": st.integers(0, 40).map(lambda i: Decimal(i) / 2),
        }))),
        "certifications": [{"tier": t, "issued_on": "2024-01-01", "expires_on": "2026-12-31"} for t in tiers],
    }


def verdicts(p: Profile) -> dict[str, int]:
    return {r["tier"]: VERDICT_ORDER[r["verdict"]] for r in evaluate_all(p, RULES)}


def assert_not_better(before: Profile, after: Profile, tiers=TIERS):
    b, a = verdicts(before), verdicts(after)
    for tier in tiers:
        assert a[tier] <= b[tier], (tier, evaluate(before, tier, RULES), evaluate(after, tier, RULES))


fractions = st.integers(1, 100).map(lambda i: Decimal(i) / 100)


@SETTINGS
@given(data=profiles(), year=st.sampled_from([2022, 2023, 2024]), cut=fractions)
def test_less_rd_never_helps(data, year, cut):
    p = parse_profile(data)
    f = p.figures_for(year)
    if f is None or f.rd_expense is None:
        return
    less = f.rd_expense * cut
    domestic = None if f.rd_expense_domestic is None else max(Decimal(0), f.rd_expense_domestic - less)
    assert_not_better(p, with_changes(p, year=year, rd_expense=f.rd_expense - less, rd_expense_domestic=domestic))


@SETTINGS
@given(data=profiles(), year=st.sampled_from([2022, 2023, 2024]), cut=fractions)
def test_fewer_tech_staff_never_helps(data, year, cut):
    p = parse_profile(data)
    f = p.figures_for(year)
    if f is None or f.tech_staff is None:
        return
    assert_not_better(p, with_changes(p, year=year, tech_staff=(f.tech_staff * (1 - cut)).to_integral_value()))


@SETTINGS
@given(data=profiles(), cut=fractions)
def test_less_hightech_revenue_never_helps(data, cut):
    p = parse_profile(data)
    f = p.figures_for(2024)
    if f is None or f.hightech_revenue is None:
        return
    assert_not_better(p, with_changes(p, year=2024, hightech_revenue=f.hightech_revenue * (1 - cut)))


@SETTINGS
@given(data=profiles(), which=st.integers(0, 3), class_i=st.booleans())
def test_fewer_ip_never_helps(data, which, class_i):
    ip = data["ip"]
    if not ip:
        return
    candidates = [i for i in ip if (i["kind"] in CLASS_I_KINDS) == class_i and i["count"] > 0] or \
        [i for i in ip if i["count"] > 0]
    if not candidates:
        return
    before = parse_profile(data)
    item = candidates[which % len(candidates)]
    item["count"] -= 1
    item["used_in_earlier_application"] = min(item["used_in_earlier_application"], item["count"])
    assert_not_better(before, parse_profile(data))


@SETTINGS
@given(data=profiles(positive_revenue=True), rise=st.integers(1, 300).map(lambda i: Decimal(i) / 100))
def test_lower_revenue_growth_never_helps_regional_tiers(data, rise):
    # a larger first-year revenue (other years unchanged) is a lower growth rate
    p = parse_profile(data)
    window_first = max(2022, p.established_on.year)
    f = p.figures_for(window_first)
    if f is None or f.revenue is None or window_first == 2024:
        return
    worse = with_changes(p, year=window_first, revenue=f.revenue * (1 + rise))
    assert_not_better(p, worse, tiers=("little_giant", "gazelle"))


@SETTINGS
@given(data=profiles())
def test_every_profile_gives_a_well_formed_result(data):
    p = parse_profile(data)
    assert parse_profile(profile_to_dict(p)) == p
    for r in evaluate_all(p, RULES):
        statuses = {c["status"] for c in r["criteria"]}
        expected = "not_ready" if "fail" in statuses else "incomplete" if statuses - {"pass"} else "ready"
        assert r["verdict"] == expected
        for c in r["criteria"]:
            if c["status"] == "borderline":
                assert c["id"] in ("sme_score", "ht_innovation_score")
            if c["status"] == "fail" and c["gap"]["amount"] is not None:
                # a score that must be above its threshold can miss it by 0 points (at most 70, needs > 70)
                assert c["gap"]["amount"] >= 0 if c["id"] == "ht_innovation_score" else c["gap"]["amount"] > 0
        if "score" in r:
            s = r["score"]
            assert 0 <= s["min"] <= s["max"] <= 100
            assert sum(lo for lo, _ in s["parts"].values()) == s["min"]
            assert sum(hi for _, hi in s["parts"].values()) == s["max"]
