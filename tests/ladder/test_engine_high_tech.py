"""high_tech (国家高新技术企业): every criterion at and around its threshold, the innovation score."""
from __future__ import annotations

import pytest

from crm.ladder.engine import load_rulesets, missing_data
from crm.ladder.profile import parse_profile
from tests.ladder import RULES, crit, drop_year, run, set_year, status, strong


@pytest.fixture(autouse=True)
def db():
    """The engine needs no app and no database: this replaces the suite's autouse database fixture."""
    yield None


def test_strong_profile_is_ready():
    r = run("high_tech", strong())
    assert r["verdict"] == "ready"
    assert r["ruleset"] == {"id": "cn-national", "version": "2016"}
    assert [c["id"] for c in r["criteria"]] == [
        "ht_registered", "ht_core_ip", "ht_domain", "ht_tech_staff", "ht_rd_ratio", "ht_rd_domestic",
        "ht_hightech_revenue", "ht_innovation_score", "ht_clean_record"]
    for c in r["criteria"]:
        assert set(c) >= {"id", "status", "actual", "required", "unit", "label", "source"}
        assert "gap" not in c
    assert set(r["score"]) >= {"id", "min", "max", "threshold", "parts"}
    assert set(r["score"]["parts"]) == {"ht_score_ip", "ht_score_conversion", "ht_score_management",
                                        "ht_score_growth"}


# ------------------------------------------------------------------------------- registered ≥ 365 days

@pytest.mark.parametrize("established, expected, days", [
    ("2024-06-29", "pass", 366), ("2024-06-30", "pass", 365), ("2024-07-01", "fail", 364)])
def test_registered_one_year(established, expected, days):
    data = strong()
    data["established_on"] = established
    c = crit(run("high_tech", data), "ht_registered")
    assert (c["status"], c["actual"], c["required"], c["unit"]) == (expected, days, 365, "days")
    if expected == "fail":
        assert c["gap"]["amount"] == 1 and c["gap"]["unit"] == "days"
        assert c["gap"]["text"].startswith("2025-07-01 起注册成立满一年")
        data["assessment_date"] = c["gap"]["date"]  # on the date the gap names, it passes
        assert status("high_tech", data, "ht_registered") == "pass"


def test_registered_unknown_without_a_date():
    data = strong()
    data["established_on"] = None
    assert status("high_tech", data, "ht_registered") == "unknown"


# ------------------------------------------------------------------------------- IP

def with_ip(*items):
    data = strong()
    data["ip"] = [dict(i) for i in items]
    return data


def test_core_ip_needs_one_valid_item():
    assert status("high_tech", with_ip({"kind": "invention_patent", "count": 1}), "ht_core_ip") == "pass"
    assert status("high_tech", with_ip({"kind": "software_copyright", "count": 1}), "ht_core_ip") == "pass"
    c = crit(run("high_tech", with_ip()), "ht_core_ip")
    assert c["status"] == "fail" and c["gap"]["amount"] == 1 and c["gap"]["unit"] == "items"
    assert c["gap"]["text"].startswith("需再取得 1 件知识产权")
    data = strong()
    data["ip"] = None
    assert status("high_tech", data, "ht_core_ip") == "unknown"


def test_class_ii_used_in_an_earlier_application_counts_for_neither_core_ip_nor_quantity():
    data = with_ip({"kind": "utility_model", "count": 6, "used_in_earlier_application": 6})
    r = run("high_tech", data)
    assert crit(r, "ht_core_ip")["status"] == "fail" and crit(r, "ht_core_ip")["actual"] == 0
    assert r["score"]["details"]["ht_score_ip_quantity"] == [0, 0]
    # class I items are not limited to one application
    data = with_ip({"kind": "invention_patent", "count": 1, "used_in_earlier_application": 1})
    assert status("high_tech", data, "ht_core_ip") == "pass"


@pytest.mark.parametrize("items, band", [
    ([{"kind": "invention_patent", "count": 1}], [7, 8]),
    ([{"kind": "new_drug", "count": 2}, {"kind": "utility_model", "count": 9}], [7, 8]),
    ([{"kind": "utility_model", "count": 5}], [5, 6]),
    ([{"kind": "utility_model", "count": 6, "used_in_earlier_application": 1}], [5, 6]),
    ([{"kind": "utility_model", "count": 6, "used_in_earlier_application": 2}], [3, 4]),
    ([{"kind": "design_patent", "count": 3}], [3, 4]),
    ([{"kind": "software_copyright", "count": 2}], [1, 2]),
    ([{"kind": "software_copyright", "count": 1}], [1, 2]),
    ([], [0, 0]),
])
def test_ip_quantity_bands(items, band):
    assert run("high_tech", with_ip(*items))["score"]["details"]["ht_score_ip_quantity"] == band


def test_ip_part_is_capped_at_30():
    data = strong()
    data["judgement"].update(ip_advancement=8, ip_core_support=8, ip_acquisition=6, ip_standards_bonus=2)
    r = run("high_tech", data)  # 8 + 8 + [7, 8] + 6 + 2 = [31, 32] → [30, 30]
    assert r["score"]["parts"]["ht_score_ip"] == [30, 30]


# ------------------------------------------------------------------------------- domain

def test_domain():
    data = strong()
    assert crit(run("high_tech", data), "ht_domain")["actual"] == "advanced_manufacturing"
    data["tech_domain"] = None
    assert status("high_tech", data, "ht_domain") == "unknown"


# ------------------------------------------------------------------------------- tech staff ≥ 10%

@pytest.mark.parametrize("tech, employees, expected", [
    (9, 91, "fail"),  # 9.89…% shows as 9.9% but fails
    (10, 100, "pass"),
    (9.99, 100, "fail"),
    (10.01, 100, "pass"),
    (30, 300, "pass"),
])
def test_tech_staff_share(tech, employees, expected):
    data = set_year(strong(), 2024, tech_staff=tech, employees=employees)
    c = crit(run("high_tech", data), "ht_tech_staff")
    assert c["status"] == expected and c["required"] == 0.1 and c["unit"] == "ratio"
    if (tech, employees) == (9, 91):
        assert c["actual"] == 0.0989
        assert c["gap"] == {"amount": 1, "unit": "persons", "text": "需再增加 1 名科技人员",
                            "relative": c["gap"]["relative"]}


def test_tech_staff_gap_rounds_people_up():
    # 50 of 600: x = (60 − 50) ÷ 0.9 = 11.1 → 12 persons (11 would give 61/611 < 10%)
    data = set_year(strong(), 2024, tech_staff=50, employees=600)
    assert crit(run("high_tech", data), "ht_tech_staff")["gap"]["amount"] == 12
    assert status("high_tech", set_year(data, 2024, tech_staff=62, employees=612), "ht_tech_staff") == "pass"
    assert status("high_tech", set_year(data, 2024, tech_staff=61, employees=611), "ht_tech_staff") == "fail"


def test_no_employees_fails_without_an_amount():
    data = set_year(strong(), 2024, tech_staff=0, employees=0)
    c = crit(run("high_tech", data), "ht_tech_staff")
    assert c["status"] == "fail" and c["gap"]["amount"] is None and "为零" in c["gap"]["text"]


# ------------------------------------------------------------------------------- R&D ÷ revenue, three years

def rd_profile(latest_revenue, rd_share, revenues=(5000, 5000)):
    """Revenue 2022, 2023 from `revenues`, 2024 `latest_revenue`; R&D spread to give `rd_share` overall."""
    from decimal import Decimal

    data = strong()
    total = sum(Decimal(str(v)) for v in (*revenues, latest_revenue))
    rd_total = total * Decimal(str(rd_share))
    for y, rev in zip((2022, 2023, 2024), (*revenues, latest_revenue), strict=True):
        set_year(data, y, revenue=str(rev), total_income=str(rev), rd_expense="0", rd_expense_domestic="0")
    set_year(data, 2024, rd_expense=str(rd_total), rd_expense_domestic=str(rd_total))
    return data


@pytest.mark.parametrize("latest, share, expected, threshold", [
    (5000, "0.0499", "fail", 0.05), (5000, "0.05", "pass", 0.05), (5000, "0.0501", "pass", 0.05),
    (5000.01, "0.0399", "fail", 0.04), (5000.01, "0.04", "pass", 0.04), (5000.01, "0.0499", "pass", 0.04),
    (20000, "0.0399", "fail", 0.04), (20000, "0.04", "pass", 0.04),
    (20000.01, "0.0299", "fail", 0.03), (20000.01, "0.03", "pass", 0.03), (20000.01, "0.0301", "pass", 0.03),
])
def test_rd_ratio_threshold_by_latest_revenue(latest, share, expected, threshold):
    c = crit(run("high_tech", rd_profile(latest, share)), "ht_rd_ratio")
    assert (c["status"], c["required"]) == (expected, threshold)


def test_rd_ratio_is_summed_over_three_years_not_averaged():
    data = strong()
    # shares 10%, 0%, 4%: the average of shares is 4.67%, the ratio of sums 4.5% (< 5% at revenue ≤ 5000)
    for y, rev, rd in ((2022, 1000, 100), (2023, 3000, 0), (2024, 4000, 160)):
        set_year(data, y, revenue=rev, rd_expense=rd, rd_expense_domestic=rd)
    c = crit(run("high_tech", data), "ht_rd_ratio")
    assert c["status"] == "fail" and c["actual"] == 0.0325  # 260 / 8000
    assert c["gap"]["amount"] == 140 and c["gap"]["text"] == "近三年研发费用合计需再增加 140.0 万元"


def test_rd_ratio_gap_example():
    # 3 years of revenue 11800, R&D 530: 5% needs 590 → 60.0 more
    data = strong()
    for y, rev, rd in ((2022, 3200, 180), (2023, 3900, 150), (2024, 4700, 200)):
        set_year(data, y, revenue=rev, rd_expense=rd, rd_expense_domestic=rd)
    c = crit(run("high_tech", data), "ht_rd_ratio")
    assert c["gap"]["amount"] == 60 and c["gap"]["unit"] == "万元"


def test_missing_year_in_the_window_is_unknown():
    data = set_year(strong(), 2022, rd_expense=None)
    p = parse_profile(data)
    r = run("high_tech", data)
    assert crit(r, "ht_rd_ratio")["status"] == "unknown"
    assert crit(r, "ht_rd_domestic")["status"] == "unknown"
    assert {"year": 2022, "field": "rd_expense", "text": "缺少 2022 年研发费用"} in missing_data(p, "high_tech", RULES)


def test_fewer_than_three_years_operated_uses_the_years_it_has():
    data = drop_year(strong(), 2022)
    data["established_on"] = "2023-03-01"  # two accounting years: 2023 and 2024
    r = run("high_tech", data)
    c = crit(r, "ht_rd_ratio")
    assert c["status"] == "pass" and c["actual"] == 0.05  # (550 + 600) / (11000 + 12000)
    assert crit(r, "ht_rd_domestic")["status"] == "pass"
    # the same figures for an older enterprise miss a year
    data["established_on"] = "2018-03-12"
    assert status("high_tech", data, "ht_rd_ratio") == "unknown"


def test_window_without_date_of_establishment():
    data = strong()
    data["established_on"] = None
    assert status("high_tech", data, "ht_rd_ratio") == "pass"  # all three years are there
    data = drop_year(data, 2022)
    assert status("high_tech", data, "ht_rd_ratio") == "unknown"
    missing = missing_data(parse_profile(data), "high_tech", RULES)
    assert {"year": None, "field": "established_on", "text": "缺少成立日期"} in missing


# ------------------------------------------------------------------------------- domestic R&D ≥ 60%

@pytest.mark.parametrize("domestic, expected", [(330, "fail"), (359.9, "fail"), (360, "pass"), (360.1, "pass")])
def test_domestic_rd_share(domestic, expected):
    data = strong()
    for y in (2022, 2023, 2024):
        set_year(data, y, rd_expense=200, rd_expense_domestic=0)
    set_year(data, 2024, rd_expense_domestic=domestic)  # 3-year R&D is 600
    c = crit(run("high_tech", data), "ht_rd_domestic")
    assert c["status"] == expected
    if domestic == 330:
        # (360 − 330) ÷ (1 − 0.6) = 75: domestic R&D is part of all R&D
        assert c["gap"]["amount"] == 75


# ------------------------------------------------------------------------------- high-tech revenue ≥ 60%

@pytest.mark.parametrize("hightech, expected", [(5999.9, "fail"), (6000, "pass"), (6000.1, "pass")])
def test_hightech_revenue_share_of_total_income(hightech, expected):
    data = set_year(strong(), 2024, hightech_revenue=hightech, total_income=10000, revenue=9000)
    c = crit(run("high_tech", data), "ht_hightech_revenue")
    assert c["status"] == expected and "note" not in c


def test_revenue_stands_in_for_missing_total_income_and_says_so():
    data = set_year(strong(), 2024, hightech_revenue=5500, total_income=None, revenue=9000)
    c = crit(run("high_tech", data), "ht_hightech_revenue")
    assert c["status"] == "pass" and c["actual"] == 0.6111
    assert c["note"] == "2024 年未填总收入，以营业收入代替"
    en = crit(run("high_tech", data, lang="en"), "ht_hightech_revenue")
    assert en["note"] == "no total income for 2024: revenue stands in"
    data = set_year(data, 2024, revenue=None)
    assert status("high_tech", data, "ht_hightech_revenue") == "unknown"


# ------------------------------------------------------------------------------- innovation score > 70

def score_profile(management):
    """IP [21, 22] + conversions [25, 30] + growth [6, 8] + management: min 52 + m, max 60 + m."""
    data = strong()
    data["ip"] = [{"kind": "invention_patent", "count": 1}]
    data["judgement"] = {"ip_advancement": 5, "ip_core_support": 5, "ip_acquisition": 4, "ip_standards_bonus": 0,
                         "management": management}
    data["conversions_last_3_years"] = 15
    for y, rev, na in ((2022, 10000, 5000), (2023, 10600, 5300), (2024, 11236, 5618)):  # 6 % growth
        set_year(data, y, revenue=rev, total_income=rev, net_assets=na, hightech_revenue=rev * 0.8,
                 rd_expense=rev * 0.05, rd_expense_domestic=rev * 0.05)
    return data


@pytest.mark.parametrize("management, lo, hi, expected", [
    (18, 70, 78, "borderline"),  # 70 itself is not above 70
    (18.5, 70.5, 78.5, "pass"),
    (19, 71, 79, "pass"),
    (10, 62, 70, "fail"),  # at most 70: cannot pass
    (10.5, 62.5, 70.5, "borderline"),
    (11, 63, 71, "borderline"),
])
def test_score_70_vs_70_5_vs_71(management, lo, hi, expected):
    r = run("high_tech", score_profile(management))
    s = r["score"]
    assert (s["min"], s["max"], s["threshold"]) == (lo, hi, 70)
    assert s["parts"] == {"ht_score_ip": [21, 22], "ht_score_conversion": [25, 30],
                          "ht_score_management": [management, management], "ht_score_growth": [6, 8]}
    c = crit(r, "ht_innovation_score")
    assert c["status"] == expected and c["range"] == [lo, hi] and c["actual"] == lo and c["required"] == 70
    assert r["verdict"] == {"pass": "ready", "fail": "not_ready", "borderline": "incomplete"}[expected]
    if expected == "fail":
        assert c["gap"]["amount"] == 0 and c["gap"]["unit"] == "points"  # misses "above 70" by nothing
        assert c["gap"]["text"] == "创新能力评价得分最高 70 分，须高于 70 分"


def test_judgement_items_not_entered_count_as_their_whole_band():
    data = score_profile(18)
    data["judgement"] = None
    r = run("high_tech", data)
    # IP: [0, 8] + [0, 8] + [7, 8] + [0, 6] + [0, 2] → [7, 30] (capped); management [0, 20]
    assert r["score"]["parts"]["ht_score_ip"] == [7, 30]
    assert r["score"]["parts"]["ht_score_management"] == [0, 20]
    assert crit(r, "ht_innovation_score")["status"] == "borderline"
    missing = {m["field"] for m in missing_data(parse_profile(data), "high_tech", RULES)}
    assert {"judgement.ip_advancement", "judgement.management"} <= missing


def test_computed_parts_alone_can_decide():
    data = score_profile(18)
    data["judgement"] = None
    data["conversions_last_3_years"] = 0
    data["ip"] = []
    for y in (2022, 2023, 2024):
        set_year(data, y, revenue=1000, net_assets=1000)  # no growth
    r = run("high_tech", data)  # at most 8 + 8 + 6 + 2 + 20 = 44
    assert r["score"]["max"] == 44 and crit(r, "ht_innovation_score")["status"] == "fail"


@pytest.mark.parametrize("established, conversions, band", [
    ("2018-03-12", 15, [25, 30]),  # 5 a year
    ("2018-03-12", 14, [19, 24]),  # 4.67
    ("2018-03-12", 9, [13, 18]),
    ("2018-03-12", 6, [7, 12]),
    ("2018-03-12", 3, [1, 6]),
    ("2018-03-12", 2, [0, 0]),  # 0.67 a year
    ("2018-03-12", 0, [0, 0]),
    ("2023-03-01", 4, [7, 12]),  # two whole years: 4 ÷ 2
    ("2024-05-01", 4, [19, 24]),  # one whole year: 4 ÷ 1
    ("2024-09-01", 4, [19, 24]),  # less than a year: divided by at least 1
])
def test_conversion_average(established, conversions, band):
    data = strong()
    data["established_on"] = established
    data["conversions_last_3_years"] = conversions
    assert run("high_tech", data)["score"]["parts"]["ht_score_conversion"] == band


def test_conversion_missing_or_undated():
    data = strong()
    data["conversions_last_3_years"] = None
    assert run("high_tech", data)["score"]["parts"]["ht_score_conversion"] == [0, 30]
    data = strong()
    data["established_on"] = None
    data["conversions_last_3_years"] = 6  # ÷ 3 → [7, 12]; ÷ 1 → [25, 30]
    assert run("high_tech", data)["score"]["parts"]["ht_score_conversion"] == [7, 30]


# ------------------------------------------------------------------------------- growth formula

def growth_of(values, established="2018-03-12", field="revenue"):
    data = strong()
    data["established_on"] = established
    years = (2022, 2023, 2024)[3 - len(values):]
    data["figures"] = [{"year": y, field: v} for y, v in zip(years, values, strict=True)]
    name = "growth_revenue" if field == "revenue" else "growth_net_assets"
    return run("high_tech", data)["score"]["details"][name]


@pytest.mark.parametrize("values, band", [
    ((100, 135, 182.25), [9, 10]),  # exactly 35 % twice
    ((100, 135, 182.24), [7, 8]),  # just under
    ((100, 125, 156.25), [7, 8]),  # 25 %
    ((100, 115, 132.25), [5, 6]),
    ((100, 105, 110.25), [3, 4]),
    ((100, 101, 102.01), [1, 2]),
    ((100, 100, 100), [0, 0]),  # 0 % is not > 0
    ((100, 90, 80), [0, 0]),
    ((100, 200, 100), [7, 8]),  # ½ (2 + 0.5) − 1 = 25 %: the average of the two yearly ratios
])
def test_growth_three_years(values, band):
    assert growth_of(values) == band


def test_growth_first_year_zero_or_negative_uses_year3_over_year2():
    assert growth_of((0, 100, 140)) == [9, 10]  # 40 %
    assert growth_of((-50, 100, 110), field="net_assets") == [3, 4]  # 10 % (net assets may be negative)
    assert growth_of((0, 100, 100)) == [0, 0]


def test_growth_second_year_zero_or_negative_gives_zero():
    assert growth_of((100, 0, 500)) == [0, 0]
    assert growth_of((100, -10, 500), field="net_assets") == [0, 0]


def test_growth_two_years_operated():
    assert growth_of((100, 140), established="2023-01-10") == [9, 10]  # year2 ÷ year1 − 1
    assert growth_of((100, 120), established="2023-01-10") == [5, 6]
    assert growth_of((0, 120), established="2023-01-10") == [0, 0]


def test_growth_one_year_operated_gives_zero():
    assert growth_of((100,), established="2024-01-10") == [0, 0]


def test_growth_missing_figure_widens_to_whole_range():
    data = strong()
    set_year(data, 2023, net_assets=None)
    r = run("high_tech", data)
    assert r["score"]["details"]["growth_net_assets"] == [0, 10]
    assert r["score"]["details"]["growth_revenue"] == [5, 6]


def test_negative_net_assets():
    assert growth_of((100, 120, -5), field="net_assets") == [0, 0]


# ------------------------------------------------------------------------------- clean record, rule set

def test_clean_record_and_english():
    data = strong()
    data["flags"]["clean_record"] = False
    r = run("high_tech", data, lang="en")
    c = crit(r, "ht_clean_record")
    assert c["status"] == "fail" and c["label"].startswith("No major safety")
    assert r["verdict"] == "not_ready"


def test_the_rule_set_thresholds_are_data():
    data = RULES["high_tech"].to_dict()
    rd = next(c for c in data["criteria"] if c["id"] == "ht_rd_ratio")
    assert rd["bands"] == [{"max": 5000, "value": 0.05}, {"max": 20000, "value": 0.04}, {"value": 0.03}]
    rd["bands"][0]["value"] = 0.06
    data["version"] = "2016-local"
    rules = load_rulesets({"high_tech": data})
    profile = rd_profile(5000, "0.055")
    assert status("high_tech", profile, "ht_rd_ratio") == "pass"
    assert status("high_tech", profile, "ht_rd_ratio", rules) == "fail"
    assert run("high_tech", profile, rules)["ruleset"] == {"id": "cn-national", "version": "2016-local"}
