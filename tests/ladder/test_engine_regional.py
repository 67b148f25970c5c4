"""The regional tiers (little_giant, gazelle, demonstration) with the shipped defaults."""
from __future__ import annotations

import pytest

from crm.ladder.engine import REGIONAL_NOTICE, load_rulesets, missing_data
from crm.ladder.profile import parse_profile
from tests.ladder import RULES, crit, drop_year, run, set_year, status, strong

NOTICE_ZH = "地方标准默认值，请按本地区现行认定办法核对"
NOTICE_EN = "regional default — check against your region's current measure"


@pytest.fixture(autouse=True)
def db():
    """The engine needs no app and no database: this replaces the suite's autouse database fixture."""
    yield None


@pytest.mark.parametrize("tier, ids", [
    ("little_giant", ["lg_registered", "lg_base_tier", "lg_revenue", "lg_rd_ratio", "lg_growth", "lg_ip",
                      "lg_tech_staff", "lg_clean_record"]),
    ("gazelle", ["gz_age", "gz_base_tier", "gz_revenue", "gz_growth", "gz_rd_ratio", "gz_clean_record"]),
    # dm_led_standard ships switched off
    ("demonstration", ["dm_base_tier", "dm_revenue", "dm_rd_ratio", "dm_rd_institution", "dm_invention_patents",
                       "dm_clean_record"]),
])
def test_shipped_defaults_and_the_notice(tier, ids):
    r = run(tier, strong())
    assert r["verdict"] == "ready"
    assert r["ruleset"] == {"id": "regional-default", "version": 1}
    assert [c["id"] for c in r["criteria"]] == ids
    assert r["notice"] == NOTICE_ZH
    assert run(tier, strong(), lang="en")["notice"] == NOTICE_EN
    assert "score" not in r


def test_national_tiers_carry_no_regional_notice():
    assert REGIONAL_NOTICE == {"zh": NOTICE_ZH, "en": NOTICE_EN}
    for tier in ("tech_sme", "high_tech"):
        assert "notice" not in run(tier, strong())


def test_the_notice_survives_an_admin_rule_set_without_one():
    data = RULES["gazelle"].to_dict()
    del data["notice"]
    data["version"] = 2
    assert run("gazelle", strong(), load_rulesets({"gazelle": data}))["notice"] == NOTICE_ZH


# ------------------------------------------------------------------------------- age

def test_little_giant_age_boundary_exact():
    data = strong()
    data["assessment_date"] = "2025-06-30"
    data["established_on"] = "2023-07-01"  # 730 days
    c = crit(run("little_giant", data), "lg_registered")
    assert (c["actual"], c["status"]) == (730, "pass")
    data["established_on"] = "2023-07-02"  # 729 days
    c = crit(run("little_giant", data), "lg_registered")
    assert (c["actual"], c["status"]) == (729, "fail")
    assert c["gap"]["date"] == "2025-07-01" and c["gap"]["amount"] == 1


@pytest.mark.parametrize("days, expected", [(1094, "fail"), (1095, "pass"), (3652, "pass"), (3653, "fail")])
def test_gazelle_age_window(days, expected):
    from datetime import date, timedelta

    data = strong()
    data["established_on"] = (date(2025, 6, 30) - timedelta(days=days)).isoformat()
    data["figures"] = [dict(row) for row in data["figures"]]
    c = crit(run("gazelle", data), "gz_age")
    assert c["status"] == expected and c["actual"] == days and c["required"] == [1095, 3652]
    if days == 1094:
        assert c["gap"]["date"] == "2025-07-01" and c["gap"]["text"].startswith("2025-07-01 起经营满三年")
    if days == 3653:
        assert c["gap"]["amount"] is None and c["gap"]["text"].startswith("超出年限")


# ------------------------------------------------------------------------------- base tier

def with_certs(*certs):
    data = strong()
    data["certifications"] = [dict(c) for c in certs]
    return data


SME = {"tier": "tech_sme", "issued_on": "2025-03-01", "expires_on": "2025-12-31"}
HT = {"tier": "high_tech", "issued_on": "2023-11-01", "expires_on": "2026-10-31"}


def test_little_giant_base_tier_either_certificate():
    assert status("little_giant", with_certs(SME), "lg_base_tier") == "pass"
    assert status("little_giant", with_certs(HT), "lg_base_tier") == "pass"
    c = crit(run("little_giant", with_certs()), "lg_base_tier")
    assert c["status"] == "fail" and c["actual"] == [] and c["required"] == ["tech_sme", "high_tech"]
    assert c["gap"]["tier"] == "tech_sme"
    assert c["gap"]["text"] == "需先取得科技型中小企业或国家高新技术企业认定"
    en = crit(run("little_giant", with_certs(), lang="en"), "lg_base_tier")
    assert en["gap"]["text"] == "obtain the Tech-based SME or National high-tech enterprise certification first"


def test_base_tier_validity_at_the_assessment_date():
    expired = dict(HT, expires_on="2025-06-29")
    not_yet = dict(HT, issued_on="2025-07-01")
    last_day = dict(HT, expires_on="2025-06-30")
    assert status("gazelle", with_certs(expired), "gz_base_tier") == "fail"
    assert status("gazelle", with_certs(not_yet), "gz_base_tier") == "fail"
    assert status("gazelle", with_certs(last_day), "gz_base_tier") == "pass"
    assert status("gazelle", with_certs(SME), "gz_base_tier") == "fail"  # a tech_sme does not do for a gazelle
    c = crit(run("gazelle", with_certs(SME)), "gz_base_tier")
    assert c["gap"]["tier"] == "high_tech" and c["gap"]["text"] == "需先取得国家高新技术企业认定"
    assert c["actual"] == ["tech_sme"]


def test_base_tier_unknown():
    data = strong()
    data["certifications"] = None
    assert status("demonstration", data, "dm_base_tier") == "unknown"
    undated = {"tier": "high_tech", "issued_on": "2023-11-01", "expires_on": None}
    assert status("demonstration", with_certs(undated), "dm_base_tier") == "unknown"


# ------------------------------------------------------------------------------- revenue and R&D

@pytest.mark.parametrize("tier, cid, threshold", [
    ("little_giant", "lg_revenue", 2000), ("gazelle", "gz_revenue", 1000), ("demonstration", "dm_revenue", 10000)])
def test_revenue_floor(tier, cid, threshold):
    for revenue, expected in ((threshold - 0.01, "fail"), (threshold, "pass"), (threshold + 0.01, "pass")):
        data = set_year(strong(), 2024, revenue=revenue, rd_expense=revenue * 0.05)
        c = crit(run(tier, data), cid)
        assert c["status"] == expected and c["required"] == threshold
        if expected == "fail":
            assert c["gap"]["amount"] == 0.1 and c["gap"]["text"] == "2024 年营业收入需再增加 0.1 万元"


@pytest.mark.parametrize("tier, cid", [
    ("little_giant", "lg_rd_ratio"), ("gazelle", "gz_rd_ratio"), ("demonstration", "dm_rd_ratio")])
@pytest.mark.parametrize("rd, expected", [(359.9, "fail"), (360, "pass"), (360.1, "pass")])
def test_rd_ratio_latest_year_3_percent(tier, cid, rd, expected):
    data = set_year(strong(), 2024, rd_expense=rd)  # revenue 12000: 3 % is 360
    c = crit(run(tier, data), cid)
    assert c["status"] == expected and c["required"] == 0.03
    if expected == "fail":
        assert c["gap"]["amount"] == 0.1 and c["gap"]["text"] == "2024 年研发费用需再增加 0.1 万元"


def test_regional_rd_ratio_reads_the_latest_year_only():
    data = set_year(strong(), 2023, rd_expense=0)
    assert status("little_giant", data, "lg_rd_ratio") == "pass"
    data = drop_year(strong(), 2024)
    assert status("little_giant", data, "lg_rd_ratio") == "unknown"


# ------------------------------------------------------------------------------- growth (CAGR)

def revenues(*values, established="2018-03-12"):
    data = strong()
    data["established_on"] = established
    years = (2022, 2023, 2024)[3 - len(values):]
    data["figures"] = [{"year": y, "revenue": v, "rd_expense": 100} for y, v in zip(years, values, strict=True)]
    return data


@pytest.mark.parametrize("latest, expected", [(1209.9, "fail"), (1210, "pass"), (1210.1, "pass")])
def test_little_giant_cagr_10_percent(latest, expected):
    c = crit(run("little_giant", revenues(1000, 5, latest)), "lg_growth")  # the middle year does not matter
    assert c["status"] == expected and c["required"] == 0.1
    if expected == "fail":
        assert c["actual"] == 0.0999
        assert c["gap"]["amount"] == 0.1
        assert c["gap"]["text"] == "2024 年营业收入需达到 1210.0 万元（再增加 0.1 万元）"
    else:
        assert c["actual"] == 0.1


def test_cagr_zero_or_negative_base_fails_with_the_reason():
    c = crit(run("little_giant", revenues(0, 500, 1000)), "lg_growth")
    assert c["status"] == "fail" and c["gap"]["amount"] is None
    assert c["gap"]["text"] == "2022 年营业收入为零或负数，无法计算增长率"


def test_cagr_fewer_than_three_years_of_figures_is_unknown():
    data = revenues(1000, 1100, 1300)
    data = drop_year(data, 2022)
    r = run("little_giant", data)
    assert crit(r, "lg_growth")["status"] == "unknown"
    assert {"year": 2022, "field": "revenue", "text": "缺少 2022 年营业收入"} in missing_data(
        parse_profile(data), "little_giant", RULES)


def test_cagr_with_fewer_than_three_years_operated_uses_the_years_it_has():
    c = crit(run("little_giant", revenues(1000, 1100, established="2023-02-01")), "lg_growth")
    assert c["status"] == "pass" and c["actual"] == 0.1  # one period: 1100 ÷ 1000 − 1
    c = crit(run("little_giant", revenues(1000, 1099.9, established="2023-02-01")), "lg_growth")
    assert c["status"] == "fail" and c["gap"]["amount"] == 0.1
    c = crit(run("little_giant", revenues(1000, established="2024-02-01")), "lg_growth")
    assert c["status"] == "fail" and c["gap"]["amount"] is None and "不足两个会计年度" in c["gap"]["text"]


@pytest.mark.parametrize("first, latest, expected, required", [
    ("8264.4", 10000, "pass", 0.1),  # 8264.4 × 1.1² = 9999.924: 10 % a year is enough from 10000 up
    ("8264.5", 10000, "fail", 0.1),  # 8264.5 × 1.1² = 10000.045
    ("8264.4", "9999.9", "fail", 0.2),  # below 10000 the rate must be 20 %
    ("100", "144", "pass", 0.2),  # exactly 20 %
    (6944.4, "9999.9", "fail", 0.2),  # (9999.9 ÷ 6944.4)^½ = 1.19999…
    (6944.4, 9999.95, "pass", 0.2),
])
def test_gazelle_growth_rate_depends_on_latest_revenue(first, latest, expected, required):
    c = crit(run("gazelle", revenues(first, 8000, latest)), "gz_growth")
    assert (c["status"], c["required"]) == (expected, required)


def test_gazelle_growth_gap_crosses_into_the_lower_rate_band():
    # first 7000: 20 % needs 10080 (not below 10000), so the answer is 10000 at 10 % (needs ≥ 8470)
    c = crit(run("gazelle", revenues(7000, 8000, 9000)), "gz_growth")
    assert c["gap"]["amount"] == 1000
    assert c["gap"]["text"] == "2024 年营业收入需达到 10000.0 万元（再增加 1000.0 万元）"
    assert status("gazelle", revenues(7000, 8000, 10000), "gz_growth") == "pass"
    assert status("gazelle", revenues(7000, 8000, 9999.9), "gz_growth") == "fail"
    # first 5000: 20 % needs 7200, inside the < 10000 band
    c = crit(run("gazelle", revenues(5000, 6000, 7000)), "gz_growth")
    assert c["gap"]["amount"] == 200


# ------------------------------------------------------------------------------- IP counts

def with_ip(*items):
    data = strong()
    data["ip"] = [dict(i) for i in items]
    return data


def test_little_giant_ip_class_i_or_five_class_ii():
    assert status("little_giant", with_ip({"kind": "plant_variety", "count": 1}), "lg_ip") == "pass"
    assert status("little_giant", with_ip({"kind": "utility_model", "count": 5}), "lg_ip") == "pass"
    # class II used in an earlier 高企 application still counts for a regional tier
    data = with_ip({"kind": "utility_model", "count": 5, "used_in_earlier_application": 5})
    assert status("little_giant", data, "lg_ip") == "pass"
    c = crit(run("little_giant", with_ip({"kind": "utility_model", "count": 4})), "lg_ip")
    assert c["status"] == "fail"
    assert c["actual"] == {"class1": 0, "class2": 4} and c["required"] == {"class1": 1, "class2": 5}
    assert c["gap"]["amount"] == 1 and c["gap"]["text"] == "需再取得 1 件Ⅰ类知识产权或 1 件Ⅱ类知识产权"


def test_ip_unknown_unless_an_alternative_already_meets():
    data = strong()
    data["ip"] = None
    assert status("little_giant", data, "lg_ip") == "unknown"
    data = with_ip({"kind": "invention_patent", "count": None}, {"kind": "utility_model", "count": 5})
    assert status("little_giant", data, "lg_ip") == "pass"
    data = with_ip({"kind": "invention_patent", "count": None}, {"kind": "utility_model", "count": 4})
    assert status("little_giant", data, "lg_ip") == "unknown"


@pytest.mark.parametrize("count, expected", [(4, "fail"), (5, "pass"), (6, "pass")])
def test_demonstration_five_class_i(count, expected):
    data = with_ip({"kind": "invention_patent", "count": count}, {"kind": "utility_model", "count": 50})
    c = crit(run("demonstration", data), "dm_invention_patents")
    assert c["status"] == expected and c["actual"] == count and c["required"] == 5
    if count == 4:
        assert c["gap"] == {"amount": 1, "unit": "items", "text": "需再取得 1 件Ⅰ类知识产权", "relative": 0.2}


def test_demonstration_rd_institution_flag():
    data = strong()
    data["flags"]["provincial_rd_institution"] = False
    c = crit(run("demonstration", data), "dm_rd_institution")
    assert c["status"] == "fail" and c["gap"]["text"] == "需建成经认定的省级以上研发机构"


def test_demonstration_led_standard_is_an_option():
    data = RULES["demonstration"].to_dict()
    option = next(c for c in data["criteria"] if c["id"] == "dm_led_standard")
    assert option["enabled"] is False
    option["enabled"] = True
    data["version"] = 2
    rules = load_rulesets({"demonstration": data})
    r = run("demonstration", strong(), rules)  # strong() has not led a standard
    assert crit(r, "dm_led_standard")["status"] == "fail" and r["verdict"] == "not_ready"
    assert r["ruleset"] == {"id": "regional-default", "version": 2}


@pytest.mark.parametrize("tier, cid", [
    ("little_giant", "lg_tech_staff"), ("little_giant", "lg_clean_record"), ("gazelle", "gz_clean_record"),
    ("demonstration", "dm_clean_record")])
def test_remaining_regional_criteria(tier, cid):
    data = strong()
    if cid == "lg_tech_staff":
        set_year(data, 2024, tech_staff=29.9, employees=300)
        assert status(tier, data, cid) == "fail"
        set_year(data, 2024, tech_staff=30)
        assert status(tier, data, cid) == "pass"
    else:
        data["flags"]["clean_record"] = False
        assert status(tier, data, cid) == "fail"
        data["flags"]["clean_record"] = None
        assert status(tier, data, cid) == "unknown"
