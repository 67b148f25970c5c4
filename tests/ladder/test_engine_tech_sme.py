"""tech_sme (科技型中小企业): every criterion at and around its threshold, the score, direct qualification."""
from __future__ import annotations

import pytest

from crm.ladder.engine import load_rulesets
from tests.ladder import RULES, crit, drop_year, run, set_year, status, strong


@pytest.fixture(autouse=True)
def db():
    """The engine needs no app and no database: this replaces the suite's autouse database fixture."""
    yield None


def test_strong_profile_is_ready_with_the_national_rule_set():
    r = run("tech_sme", strong())
    assert r["verdict"] == "ready"
    assert r["ruleset"] == {"id": "cn-national", "version": "2022"}
    assert [c["id"] for c in r["criteria"]] == ["sme_resident", "sme_employees", "sme_revenue", "sme_assets",
                                                "sme_not_restricted", "sme_clean_record", "sme_score"]
    assert "notice" not in r  # a national rule set


@pytest.mark.parametrize("employees, expected", [(499, "pass"), (500, "pass"), (501, "fail")])
def test_employees_at_most_500(employees, expected):
    data = set_year(strong(), 2024, employees=employees, tech_staff=150)
    c = crit(run("tech_sme", data), "sme_employees")
    assert c["status"] == expected and c["actual"] == employees and c["required"] == 500
    assert c["unit"] == "persons"
    if expected == "fail":
        assert c["gap"]["amount"] == 1 and c["gap"]["unit"] == "persons"
        assert c["gap"]["text"] == "2024 年职工总数超出上限 1 人"


@pytest.mark.parametrize("field, cid", [("revenue", "sme_revenue"), ("total_assets", "sme_assets")])
@pytest.mark.parametrize("value, expected", [("19999.99", "pass"), ("20000", "pass"), ("20000.01", "fail")])
def test_revenue_and_assets_at_most_20000(field, cid, value, expected):
    data = set_year(strong(), 2024, **{field: value})
    c = crit(run("tech_sme", data), cid)
    assert c["status"] == expected
    if expected == "fail":
        assert c["gap"]["amount"] == 0.1 and c["gap"]["unit"] == "万元"  # 0.01 over, rounded up to 0.1


@pytest.mark.parametrize("flag, cid, good, bad", [
    ("resident", "sme_resident", True, False),
    ("restricted_industry", "sme_not_restricted", False, True),
    ("clean_record", "sme_clean_record", True, False),
])
def test_flags(flag, cid, good, bad):
    for value, expected in ((good, "pass"), (bad, "fail"), (None, "unknown")):
        data = strong()
        data["flags"][flag] = value
        c = crit(run("tech_sme", data), cid)
        assert c["status"] == expected
        assert ("gap" in c) == (expected == "fail")
    data = strong()
    del data["flags"][flag]
    assert status("tech_sme", data, cid) == "unknown"


def score_profile(*, employees=100, tech=30, revenue=1000, rd=60, cost=1000, ip=None):
    """A tech_sme profile whose score parts are set directly (latest year 2024)."""
    data = strong()
    data["ip"] = ip if ip is not None else [{"kind": "invention_patent", "count": 1}]
    data["flags"].update(provincial_rd_institution=False)
    return set_year(data, 2024, employees=employees, tech_staff=tech, revenue=revenue, rd_expense=rd,
                    total_cost=cost, total_assets=1000)


def score_of(data) -> dict:
    return run("tech_sme", data)["score"]


@pytest.mark.parametrize("tech, points", [
    (30, 20), (29.9, 16), (25, 16), (24.9, 12), (20, 12), (19.9, 8), (15, 8), (14.9, 4), (10, 4), (9.9, 0), (0, 0),
])
def test_tech_staff_points(tech, points):
    s = score_of(score_profile(tech=tech))
    assert s["parts"]["sme_tech_staff"] == [points, points]


@pytest.mark.parametrize("rd, points", [
    (60, 50), (59.9, 40), (50, 40), (49.9, 30), (40, 30), (39.9, 20), (30, 20), (29.9, 10), (20, 10), (19.9, 0),
])
def test_rd_over_revenue_points(rd, points):
    # total cost so large that the second measure gives nothing
    s = score_of(score_profile(rd=rd, revenue=1000, cost=100000))
    assert s["parts"]["sme_rd"] == [points, points]
    assert s["details"]["sme_rd_cost"] == [0, 0]


@pytest.mark.parametrize("cost, points", [
    (200, 50), (200.1, 40), (240, 40), (300, 30), (400, 20), (600, 10), (600.1, 0),
])
def test_rd_over_total_cost_points(cost, points):
    # rd 60 over revenue 100000 scores nothing; over the total cost it scores by its bands
    s = score_of(score_profile(rd=60, revenue=100000, cost=cost))
    assert s["details"]["sme_rd_revenue"] == [0, 0]
    assert s["parts"]["sme_rd"] == [points, points]


def test_rd_takes_the_better_of_the_two_measures():
    s = score_of(score_profile(rd=30, revenue=1000, cost=100))  # 3% of revenue → 20; 30% of cost → 50
    assert s["details"] == {"sme_rd_revenue": [20, 20], "sme_rd_cost": [50, 50]}
    assert s["parts"]["sme_rd"] == [50, 50]
    s = score_of(score_profile(rd=60, revenue=1000, cost=1000))  # 6% → 50; 6% of cost → 0
    assert s["parts"]["sme_rd"] == [50, 50]


@pytest.mark.parametrize("ip, points", [
    ([{"kind": "ic_layout", "count": 1}], 30),
    ([{"kind": "utility_model", "count": 4}], 24),
    ([{"kind": "design_patent", "count": 2}, {"kind": "software_copyright", "count": 3}], 24),
    ([{"kind": "utility_model", "count": 3}], 18),
    ([{"kind": "utility_model", "count": 2}], 12),
    ([{"kind": "other_class2", "count": 1}], 6),
    ([{"kind": "utility_model", "count": 0}], 0),
    ([], 0),
    # class II used in an earlier 高企 application still counts here (that rule is the 高企's)
    ([{"kind": "utility_model", "count": 4, "used_in_earlier_application": 4}], 24),
])
def test_ip_points(ip, points):
    s = score_of(score_profile(ip=ip))
    assert s["parts"]["sme_ip"] == [points, points]


def test_score_60_passes_and_below_fails():
    # 20 (tech 30%) + 40 (rd 5%) + 0 (no IP) = 60 → pass
    r = run("tech_sme", score_profile(tech=30, rd=50, cost=100000, ip=[]))
    assert r["score"]["min"] == r["score"]["max"] == 60 and r["score"]["threshold"] == 60
    assert crit(r, "sme_score")["status"] == "pass" and r["verdict"] == "ready"
    # 16 + 40 + 0 = 56 → fail, 4 points short
    r = run("tech_sme", score_profile(tech=25, rd=50, cost=100000, ip=[]))
    c = crit(r, "sme_score")
    assert c["status"] == "fail" and r["verdict"] == "not_ready"
    assert c["gap"]["amount"] == 4 and c["gap"]["unit"] == "points"
    assert c["gap"]["text"] == "评价得分需再提高 4 分（最高 56 分，须不低于 60 分）"


def test_tech_staff_points_must_not_be_zero_even_with_a_high_score():
    # 0 (tech 9.9%) + 50 + 30 = 80 ≥ 60, but the tech-staff item scored 0
    r = run("tech_sme", score_profile(tech=9.9, rd=60))
    c = crit(r, "sme_score")
    assert r["score"]["min"] == 80
    assert c["status"] == "fail"
    assert "科技人员指标得分不得为 0" in c["gap"]["text"] and "10%" in c["gap"]["text"]
    assert status("tech_sme", score_profile(tech=10, rd=60), "sme_score") == "pass"


@pytest.mark.parametrize("flag", ["national_award_top3_5y", "provincial_rd_institution", "led_standard_5y"])
def test_direct_qualification_passes_whatever_the_score(flag):
    data = score_profile(tech=0, rd=0, ip=[])  # score 0
    assert status("tech_sme", data, "sme_score") == "fail"
    data["flags"][flag] = True
    r = run("tech_sme", data)
    c = crit(r, "sme_score")
    assert c["status"] == "pass" and r["verdict"] == "ready"
    assert c["note"].startswith("符合直接认定条件")
    assert r["score"]["min"] == 0  # the score is still shown


def test_direct_qualification_still_needs_the_first_six_rows():
    data = score_profile(tech=0, rd=0, ip=[])
    data["flags"]["led_standard_5y"] = True
    data = set_year(data, 2024, employees=501)
    r = run("tech_sme", data)
    assert crit(r, "sme_score")["status"] == "pass"
    assert r["verdict"] == "not_ready"


def test_unknown_direct_flags_leave_a_low_score_unknown_not_failed():
    data = score_profile(tech=0, rd=0, ip=[])
    data["flags"]["national_award_top3_5y"] = None
    c = crit(run("tech_sme", data), "sme_score")
    assert c["status"] == "unknown"


def high_tech_option_rules():
    data = RULES["tech_sme"].to_dict()
    score = next(c for c in data["criteria"] if c["id"] == "sme_score")
    assert score["high_tech_certificate_qualifies"] is False  # shipped default: off (2022 text)
    score["high_tech_certificate_qualifies"] = True
    data["version"] = "2017"
    return load_rulesets({"tech_sme": data})


def test_high_tech_certificate_qualifies_only_when_the_option_is_on():
    data = score_profile(tech=0, rd=0, ip=[])  # score 0; strong() holds a valid high_tech certificate
    assert status("tech_sme", data, "sme_score") == "fail"
    rules = high_tech_option_rules()
    assert status("tech_sme", data, "sme_score", rules) == "pass"
    data["certifications"][1]["expires_on"] = "2025-06-29"  # expired the day before the assessment
    assert status("tech_sme", data, "sme_score", rules) == "fail"


def test_missing_latest_year_is_unknown_never_the_year_before():
    data = drop_year(strong(), 2024)  # 2023 and 2022 are there and would pass
    data["flags"]["provincial_rd_institution"] = False  # no direct qualification
    r = run("tech_sme", data)
    for cid in ("sme_employees", "sme_revenue", "sme_assets"):
        assert crit(r, cid)["status"] == "unknown" and crit(r, cid)["actual"] is None
    assert crit(r, "sme_score")["status"] == "borderline"  # the figure parts widened to 0..max
    assert r["score"]["parts"] == {"sme_tech_staff": [0, 20], "sme_rd": [0, 50], "sme_ip": [30, 30]}
    assert r["verdict"] == "incomplete"


def test_a_newer_year_is_not_used_either():
    data = drop_year(strong(), 2024)
    data["figures"].append({"year": 2025, "revenue": 100, "employees": 10, "total_assets": 100})
    r = run("tech_sme", data)
    assert crit(r, "sme_revenue")["status"] == "unknown"


def test_missing_part_widens_only_that_part():
    data = score_profile(tech=30, rd=60)
    data["ip"] = None  # 20 + 50 + [0, 30]
    r = run("tech_sme", data)
    assert r["score"]["parts"]["sme_ip"] == [0, 30]
    assert r["score"]["min"] == 70 and crit(r, "sme_score")["status"] == "pass"
    data = score_profile(tech=10, rd=20, cost=100000)
    data["ip"] = None  # 4 + 10 + [0, 30] = [14, 44] < 60 → fail without knowing the IP
    assert status("tech_sme", data, "sme_score") == "fail"
    data = score_profile(tech=30, rd=30, cost=100000)
    data["ip"] = None  # 20 + 20 + [0, 30] = [40, 70] → borderline
    r = run("tech_sme", data)
    assert crit(r, "sme_score")["status"] == "borderline" and r["verdict"] == "incomplete"


def test_missing_tech_staff_cannot_pass_the_nonzero_condition():
    data = score_profile(rd=60)
    year = data["figures"][-1]
    year["tech_staff"] = None  # [0, 20] + 50 + 30: min 80 ≥ 60 but the tech-staff points may be 0
    assert status("tech_sme", data, "sme_score") == "borderline"


def test_unknown_ip_count_in_one_entry():
    data = score_profile(tech=30, rd=30, cost=100000)
    data["ip"] = [{"kind": "utility_model", "count": None}]
    r = run("tech_sme", data)
    assert r["score"]["parts"]["sme_ip"] == [0, 30]
